"""hello's own functional tests: run by pytest-ccci against the deployed app."""


def test_front_page_greets(app):
    status, body = app.http("/")
    assert status == 200, f"GET / answered {status}"
    assert "Hello from CI" in body, f"the GREETING setting did not reach the page: {body[:200]!r}"
    assert app.domain in body


def test_notes_round_trip(app):
    status, _ = app.http("/cgi-bin/notes", data="first note from ccci")
    assert status == 201, f"POST /cgi-bin/notes answered {status}"
    status, body = app.http("/cgi-bin/notes")
    assert status == 200
    assert "first note from ccci" in body.splitlines()


def test_notes_survive_in_the_data_volume(app):
    app.http("/cgi-bin/notes", data="kept in /data")
    assert b"kept in /data" in app.read_file("/data/notes.txt")


def test_secret_is_mounted_but_not_served(app):
    code, out = app.exec("wc -c < /run/secrets/admin_password")
    assert code == 0 and int(out.strip()) == 32, f"admin_password secret: {out!r}"
    status, body = app.http("/")
    secret = app.exec("cat /run/secrets/admin_password")[1]
    served = secret in body  # not `assert secret not in body`: on failure pytest would print it
    assert not served, "the admin password is served on /"
