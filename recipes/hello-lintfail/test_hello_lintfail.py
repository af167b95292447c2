"""hello-lintfail works like hello; only its labels are wrong (lint catches that)."""


def test_notes_count_page(app):
    app.http("/cgi-bin/notes", data="one")
    status, body = app.http("/cgi-bin/count")
    assert status == 200, f"GET /cgi-bin/count answered {status}"
    assert int(body.strip()) >= 1
