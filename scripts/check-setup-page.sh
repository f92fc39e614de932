#!/usr/bin/env bash
# The setup page in a real browser: starts `folio serve` with no app credentials, reads the
# setup token with `folio setup-token`, POSTs it to `/` as the token form does, loads the page
# Folio answered in headless Chromium, and checks the DOM the browser built: the register
# button, the form that posts to GitHub's "new app" page with a state, and the manifest
# field's JSON. Not part of `cargo test` (it needs Chromium); tests/it/setup.rs asserts the
# same on the HTML.
#
#   scripts/check-setup-page.sh        # installs the Debian package `chromium` if missing
#
# Needs python3 and curl. Uses the debug build (CARGO_TARGET_DIR is honoured).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null; then
  if apt-cache policy chromium 2>/dev/null | grep -q 'Candidate: [0-9]'; then
    echo "installing chromium (Debian package)" >&2
    apt-get install -y chromium >/dev/null
  else
    echo "chromium is needed and apt has no candidate for it" >&2
    exit 2
  fi
fi

cargo build --quiet --bin folio
bin="${CARGO_TARGET_DIR:-target}/debug/folio"

work=$(mktemp -d)
server=
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"' EXIT

port=$((20000 + RANDOM % 20000))
public="https://folio.example.org"
web="https://github.example.org"
# No FOLIO_APP_ID, key or webhook secret: serve starts in setup mode.
env -u FOLIO_APP_ID -u FOLIO_PRIVATE_KEY -u FOLIO_PRIVATE_KEY_PATH -u FOLIO_WEBHOOK_SECRET \
  FOLIO_DATABASE_URL="sqlite://$work/folio.db" FOLIO_LISTEN="127.0.0.1:$port" \
  FOLIO_ADMIN_LISTEN="127.0.0.1:$((port + 1))" \
  FOLIO_CREDENTIALS_PATH="$work/folio-credentials.json" FOLIO_PUBLIC_URL="$public" \
  FOLIO_WEB_URL="$web" FOLIO_LOG=warn \
  "$bin" serve 2>"$work/server.log" &
server=$!
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
grep -q "folio setup-token" "$work/server.log" \
  || { echo "serve did not say where the setup token is" >&2; cat "$work/server.log" >&2; exit 1; }
token=$(FOLIO_CREDENTIALS_PATH="$work/folio-credentials.json" "$bin" setup-token)
if grep -qF "$token" "$work/server.log"; then
  echo "the setup token is in the log" >&2; exit 1
fi

# The token goes in a POSTed form, as the page's own form sends it; a file:// copy of the answer
# lets Chromium build the DOM from exactly what Folio served.
curl -sf -X POST --data-urlencode "token=$token" "http://127.0.0.1:$port/" >"$work/page.html" \
  || { echo "POST / with the setup token failed" >&2; exit 1; }
# --no-sandbox: this may run as root in a container, where Chromium's sandbox cannot start.
chromium --headless --no-sandbox --disable-gpu --user-data-dir="$work/profile" \
  --dump-dom "file://$work/page.html" >"$work/dom.html" 2>"$work/chromium.log" \
  || { cat "$work/chromium.log" >&2; exit 1; }

python3 - "$work/dom.html" "$public" "$web" <<'PY'
import json, sys
from html.parser import HTMLParser

dom_path, public, web = sys.argv[1:4]

class Dom(HTMLParser):
    def __init__(self):
        super().__init__()
        self.forms, self.form = {}, None
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.form = a.get("id")
            self.forms[self.form] = {"attrs": a, "inputs": {}, "buttons": []}
        elif tag == "input" and self.form is not None:
            self.forms[self.form]["inputs"][a.get("name")] = a
        elif tag == "button" and self.form is not None:
            self.forms[self.form]["buttons"].append(a)
    def handle_endtag(self, tag):
        if tag == "form":
            self.form = None

dom = Dom()
dom.feed(open(dom_path, encoding="utf-8").read())
fail = []
reg = dom.forms.get("register")
if reg is None:
    sys.exit("no form#register in the DOM")
action = reg["attrs"].get("action", "")
if reg["attrs"].get("method", "").lower() != "post":
    fail.append("form#register does not POST")
if not action.startswith(web + "/settings/apps/new?state=") or len(action.split("state=")[1]) != 64:
    fail.append("form#register posts to %r" % action)
if not any(b.get("id") == "register-button" and b.get("type") == "submit" for b in reg["buttons"]):
    fail.append("no submit button#register-button in form#register")
field = reg["inputs"].get("manifest")
if field is None or field.get("type") != "hidden":
    fail.append("no hidden manifest field")
else:
    m = json.loads(field.get("value", ""))
    expect = {
        ("url",): public,
        ("redirect_url",): public + "/setup/callback",
        ("hook_attributes", "url"): public + "/webhook",
        ("default_events",): ["issues", "issue_comment"],
        ("default_permissions",): {"issues": "write", "pull_requests": "read",
                                   "contents": "read", "metadata": "read", "checks": "read"},
    }
    for path, want in expect.items():
        got = m
        for k in path:
            got = got.get(k) if isinstance(got, dict) else None
        if got != want:
            fail.append("manifest %s = %r, want %r" % (".".join(path), got, want))
if fail:
    sys.exit("setup page check failed:\n  " + "\n  ".join(fail))
print("setup page OK: button, form -> %s, manifest for %s" % (action.split("?")[0], public))
PY
