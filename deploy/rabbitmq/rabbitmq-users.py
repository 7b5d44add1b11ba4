#!/usr/bin/env python3
"""Creates (or updates) the PowerEvents broker accounts of users.json through the RabbitMQ management API.

One account per service and a read-only 'operator' (tag monitoring); the admin account only runs this and the UI.
Idempotent: run at every start (docker-compose service rabbitmq-users, scripts/run-local.sh). A password is read
from <passwords-dir>/rabbitmq_<user>_password (the Docker secret) and never printed. Standard library only: it runs
in the rabbitmq management image.

  rabbitmq-users.py --api http://rabbitmq:15672/api --vhost / --admin-user admin --admin-password-env VAR --passwords DIR
"""
import argparse, base64, json, os, sys, time, urllib.error, urllib.parse, urllib.request


def expand(pattern, patterns):
    for name, value in patterns.items():
        pattern = pattern.replace("{" + name + "}", value)
    return pattern


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--api", required=True)
    p.add_argument("--vhost", default="/")
    p.add_argument("--admin-user", required=True)
    p.add_argument("--admin-password-file", help="file holding the admin password")
    p.add_argument("--admin-password-env", help="environment variable holding the admin password")
    p.add_argument("--passwords", required=True, help="directory of rabbitmq_<user>_password files")
    p.add_argument("--users", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "users.json"))
    p.add_argument("--wait", type=int, default=120, help="seconds to wait for the management API")
    a = p.parse_args()

    spec = json.load(open(a.users))
    if a.admin_password_env:
        admin_password = os.environ.get(a.admin_password_env, "")
    elif a.admin_password_file:
        admin_password = open(a.admin_password_file).read().strip()
    else:
        sys.exit("rabbitmq-users: --admin-password-file or --admin-password-env is required")
    auth = "Basic " + base64.b64encode(f"{a.admin_user}:{admin_password}".encode()).decode()
    vhost = urllib.parse.quote(a.vhost, safe="")

    def call(method, path, body=None):
        req = urllib.request.Request(a.api.rstrip("/") + path, method=method,
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers={"Authorization": auth, "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status

    deadline = time.time() + a.wait
    while True:
        try:
            call("GET", "/overview")
            break
        except (urllib.error.URLError, OSError) as e:
            if time.time() > deadline:
                sys.exit(f"rabbitmq-users: management API {a.api} not answering: {e}")
            time.sleep(2)

    call("PUT", f"/vhosts/{vhost}", {})
    for user, rights in spec["users"].items():
        path = os.path.join(a.passwords, f"rabbitmq_{user.replace('-', '_')}_password")
        if not os.path.exists(path):
            print(f"rabbitmq-users: {user}: no secret {path}, account not created")
            continue
        password = open(path).read().strip()
        if len(password) < 16:
            sys.exit(f"rabbitmq-users: {path} is shorter than 16 characters")
        call("PUT", f"/users/{urllib.parse.quote(user, safe='')}", {"password": password, "tags": rights.get("tags", "")})
        call("PUT", f"/permissions/{vhost}/{urllib.parse.quote(user, safe='')}",
             {k: expand(rights[k], spec["patterns"]) for k in ("configure", "write", "read")})
        print(f"rabbitmq-users: {user} ready")


if __name__ == "__main__":
    main()
