#!/usr/bin/env python3
"""Packaging test: config/kamailio-routing.cfg works the way its header tells operators to use it.

Builds a minimal kamailio.cfg exactly as the snippet's "HOW TO USE IT" says (the modules it
names, the snippet copied next to it and pulled in with include_file by its bare name, the
calls in request_route, authentication skipped for the gateway) and has Kamailio check it with
`kamailio -c` from another working directory (parse and fix-up only: nothing listens, nothing
starts). With the snippet missing, the same check must fail. Run once with the snippet's default defines and once with -A overrides, the way an
operator passes them on the command line. Kamailio silently creates an empty route for a name
that is called but never defined, so the routes and defines the header promises are also
looked for in the text. Kamailio missing is a failure (it is one of the
packages `./run setup` installs), never a skip.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

CONFIG = """#!KAMAILIO
# Built by packaging/check_kamailio_snippet.py around config/kamailio-routing.cfg.
listen=udp:127.0.0.1:5060
listen=tcp:127.0.0.1:5060
alias=example.com

loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "textops.so"
loadmodule "xlog.so"
loadmodule "siputils.so"

include_file "kamailio-routing.cfg"

request_route {
	if (has_totag()) {
		if (loose_route()) {
			t_relay();
			exit;
		}
		sl_send_reply("404", "Not here");
		exit;
	}
	if ($si == FEDGW_GATEWAY_IP) {
		route(FEDGW_FROM_GATEWAY);
	} else if (!uri == myself) {
		route(FEDGW);
	}
	if ($si != FEDGW_GATEWAY_IP) {
		route(AUTH);
	}
	sl_send_reply("404", "Not Found");
}

route[AUTH] {
	return;
}
"""


def main():
    if len(sys.argv) != 2:
        print("usage: check_kamailio_snippet.py PATH/TO/kamailio-routing.cfg")
        return 2
    snippet = os.path.abspath(sys.argv[1])
    kamailio = shutil.which("kamailio") or (
        "/usr/sbin/kamailio" if os.access("/usr/sbin/kamailio", os.X_OK) else None)
    if not kamailio:
        print("FAIL: kamailio not found (Debian package kamailio; ./run setup installs it)")
        return 1
    rc = 0
    text = open(snippet, encoding="utf-8").read()
    routes = set(re.findall(r"^route\[(\w+)\]\s*\{", text, re.M))
    for name in ("FEDGW", "FEDGW_FROM_GATEWAY"):
        if name not in routes:
            print(f"FAIL: the snippet defines no route[{name}] (it defines {sorted(routes)})")
            rc = 1
    for name in ("FEDGW_GATEWAY_URI", "FEDGW_GATEWAY_IP"):
        if not re.search(rf"^#!define {name} ", text, re.M):
            print(f"FAIL: the snippet has no default #!define {name}")
            rc = 1
    work = tempfile.mkdtemp(prefix="fedgw-kamailio-snippet-")
    try:
        cfg = os.path.join(work, "kamailio.cfg")
        with open(cfg, "w", encoding="utf-8") as fh:
            fh.write(CONFIG)
        copy = os.path.join(work, "kamailio-routing.cfg")
        shutil.copyfile(snippet, copy)
        runs = {
            "default defines": [],
            "-A overrides": ["-A", 'FEDGW_GATEWAY_URI="sip:10.0.0.5:5070;transport=tcp"',
                             "-A", 'FEDGW_GATEWAY_IP="10.0.0.5"'],
        }
        for name, extra in runs.items():
            r = subprocess.run([kamailio, "-c", "-f", cfg, "-Y", work] + extra, cwd="/",
                               capture_output=True, text=True, timeout=60)
            out = r.stdout + r.stderr
            if r.returncode != 0 or "config file ok" not in out:
                print(f"FAIL: kamailio -c ({name}) exit {r.returncode}:\n{out}")
                rc = 1
            else:
                print(f"ok: kamailio -c accepts the snippet ({name})")
        os.unlink(copy)
        r = subprocess.run([kamailio, "-c", "-f", cfg, "-Y", work] + runs["-A overrides"],
                           cwd="/", capture_output=True, text=True, timeout=60)
        if r.returncode == 0:
            print("FAIL: kamailio -c accepts the configuration without the snippet: "
                  "include_file did not pull it in")
            rc = 1
        else:
            print("ok: without the snippet the configuration is refused")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
