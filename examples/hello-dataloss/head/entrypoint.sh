#!/bin/sh
# hello: a tiny notes service on busybox httpd, with a healthcheck and data in /data.
set -e

if [ ! -s /run/secrets/admin_password ]; then
  echo "hello: the admin_password secret is missing or empty" >&2
  exit 1
fi

# The bug: every start empties the data volume, so what an earlier version stored is gone.
rm -rf /data/..?* /data/.[!.]* /data/*
mkdir -p /www/cgi-bin /data
touch /data/notes.txt

cat > /www/index.html <<HTML
<html><body><h1>${GREETING:-Hello} from ${DOMAIN}</h1><p><a href="/cgi-bin/notes">notes</a></p></body></html>
HTML
echo ok > /www/health
echo "${APP_REVISION}" > /www/version

# GET lists the notes; POST appends the request body as one note.
cat > /www/cgi-bin/notes <<'CGI'
#!/bin/sh
if [ "$REQUEST_METHOD" = POST ]; then
  head -c "${CONTENT_LENGTH:-0}" | tr -d '\r\n' >> /data/notes.txt
  echo >> /data/notes.txt
  printf 'Status: 201 Created\r\nContent-Type: text/plain\r\n\r\nsaved\n'
else
  printf 'Content-Type: text/plain\r\n\r\n'
  cat /data/notes.txt
fi
CGI

# GET: how many notes there are.
cat > /www/cgi-bin/count <<'CGI'
#!/bin/sh
printf 'Content-Type: text/plain\r\n\r\n'
grep -c . /data/notes.txt || true
CGI
chmod 0755 /www/cgi-bin/count
chmod 0755 /www/cgi-bin/notes

# httpd as PID 1 would ignore SIGTERM (PID 1 has no default handlers): run it as a child and
# stop it on TERM, so a swarm update stops the task at once instead of after the grace period.
httpd -f -p 8080 -h /www &
trap 'kill $!; exit 0' TERM INT
wait
