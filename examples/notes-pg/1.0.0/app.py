"""notes-pg: notes over HTTP, kept in PostgreSQL (the app of the realistic example recipe).

GET /health   200 when the database answers
GET /notes    the notes, one per line
POST /notes   the request body becomes a note: 201
On start it brings the database schema up to SCHEMA, one migration at a time, in a transaction
each; a migration that fails is logged in PostgreSQL's own words and the app exits 1.
"""

import os
import signal
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psycopg

SCHEMA = 1
MIGRATIONS = {
    1: ["CREATE TABLE notes (id serial PRIMARY KEY, body text NOT NULL)"],
}


def connect():
    with open(os.environ["DB_PASSWORD_FILE"]) as fh:
        password = fh.read().strip()
    return psycopg.connect(
        host=os.environ.get("DB_HOST", "db"),
        dbname=os.environ.get("DB_NAME", "notes"),
        user=os.environ.get("DB_USER", "notes"),
        password=password,
        connect_timeout=3,
        # Text as str whatever the database's encoding (one made without a UTF-8 locale is
        # SQL_ASCII, whose text psycopg would hand over as bytes).
        client_encoding="utf8",
    )


def wait_for_database(seconds=60):
    deadline = time.monotonic() + seconds
    while True:
        try:
            return connect()
        except psycopg.OperationalError as exc:
            if time.monotonic() > deadline:
                raise
            print(f"notes-pg: waiting for the database: {' '.join(str(exc).split())}", flush=True)
            time.sleep(1)


def migrate(conn):
    with conn.transaction():
        conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL)")
        row = conn.execute("SELECT max(version) FROM schema_version").fetchone()
    current = row[0] or 0
    for version in range(current + 1, SCHEMA + 1):
        try:
            with conn.transaction():
                for statement in MIGRATIONS[version]:
                    conn.execute(statement)
                conn.execute("INSERT INTO schema_version VALUES (%s)", (version,))
        except psycopg.Error as exc:
            print(f"notes-pg: migration to schema {version} failed: {' '.join(str(exc).split())}", flush=True)
            sys.exit(1)
        print(f"notes-pg: migrated the database to schema {version}", flush=True)


class Notes(BaseHTTPRequestHandler):
    def answer(self, status, text):
        body = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        try:
            with connect() as conn:
                if self.path == "/health":
                    conn.execute("SELECT 1")
                    return self.answer(200, "ok\n")
                if self.path == "/notes":
                    rows = conn.execute("SELECT body FROM notes ORDER BY id").fetchall()
                    return self.answer(200, "".join(f"{r[0]}\n" for r in rows))
        except psycopg.Error as exc:
            return self.answer(503, f"database: {exc}\n")
        self.answer(404, "not found\n")

    def do_POST(self):
        if self.path != "/notes":
            return self.answer(404, "not found\n")
        text = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        with connect() as conn:
            conn.execute("INSERT INTO notes (body) VALUES (%s)", (text,))
        self.answer(201, "stored\n")

    def log_message(self, *args):
        pass  # one line per request would drown the start-up and migration lines


if __name__ == "__main__":
    # PID 1 of its task: the kernel ignores a SIGTERM it has no handler for, and every stop would
    # wait out swarm's grace period (10 s) for the SIGKILL.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    with wait_for_database() as conn:
        migrate(conn)
    print(f"notes-pg: serving {os.environ.get('APP_DOMAIN', '?')} on :8000", flush=True)
    ThreadingHTTPServer(("0.0.0.0", 8000), Notes).serve_forever()
