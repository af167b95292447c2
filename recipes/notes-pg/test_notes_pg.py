"""notes-pg's own functional tests: write through the app, read back from the database."""

import shlex

PSQL = "psql -U notes -d notes -v ON_ERROR_STOP=1 -tA -c "


def query(app, sql: str) -> list[str]:
    """Rows from PostgreSQL itself, through psql in the `db` service's task."""
    code, out = app.exec(PSQL + shlex.quote(sql), service="db")
    assert code == 0, f"psql in db: exit {code}: {out.strip()[:300]}"
    return out.splitlines()


def test_note_posted_to_the_app_is_stored_in_the_database(app):
    status, body = app.http("/notes", data="kept in postgres by ccci")
    assert status == 201, f"POST /notes answered {status}: {body[:200]!r}"
    assert "kept in postgres by ccci" in query(app, "SELECT body FROM notes")


def test_head_schema_counts_the_words_of_new_notes(app):
    app.http("/notes", data="four words in all")
    assert query(app, "SELECT words FROM notes WHERE body = 'four words in all'") == ["4"]
    assert query(app, "SELECT max(version) FROM schema_version") == ["2"]


def test_app_lists_the_notes_from_the_database(app):
    app.http("/notes", data="listed by the app")
    status, body = app.http("/notes")
    assert status == 200, f"GET /notes answered {status}"
    assert "listed by the app" in body.splitlines()


def test_db_password_reaches_both_services_as_a_secret_file(app):
    # *_FILE: the password is a mounted swarm secret, never an environment value. (abra's
    # ExposeAllEnv gives app SECRET_DB_PASSWORD_VERSION: a secret's version, not the secret.)
    listing = 'sorted(k for k in os.environ if "PASSWORD" in k and not k.endswith("_VERSION"))'
    code, out = app.exec(f"python3 -c 'import os; print({listing})'")
    assert code == 0 and out.strip() == "[]", f"password-shaped environment in app: {out.strip()!r}"
    code, out = app.exec("test -s /run/secrets/db_password && echo present", service="db")
    assert out.strip() == "present", f"db_password secret in db: {out.strip()!r}"
