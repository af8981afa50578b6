"""`lapor-admin`: console accounts and API tokens from the command line.

    lapor-admin user add NAME --role koordinator|pengawas|admin [--region CODE ...] --password-stdin
    lapor-admin user list
    lapor-admin user disable NAME | enable NAME | unlock NAME
    lapor-admin user password NAME --password-stdin
    lapor-admin token create NAME      # the new token is the LAST line printed

The database is the store's (DATABASE_URL, default SQLite var/reports.db; the schema
is migrated on first use). The password is read from standard input (one line), never
from the command line, where other users could see it. Exit codes: 0 done, 1 refused
(bad input, unknown user, name taken), 2 usage error.
"""

from __future__ import annotations

import argparse
import logging
import sys

from bot.settings import get_settings
from console.accounts import MIN_PASSWORD_CHARS, AccountError, Accounts
from console.store import ConsoleStore

logger = logging.getLogger(__name__)

#: What each refusal means, for people (English: an operator's tool).
MESSAGES = {
    "bad_name": "NAME must be 2-64 letters, digits, '.', '_' or '-' (starting with a letter "
                "or digit)",
    "bad_role": "--role must be koordinator, pengawas or admin",
    "bad_region": "unknown region code {detail!r}: use a province (e.g. 33) or "
                  "kabupaten/kota code (e.g. 33.75) from bot/resources/wilayah/",
    "region_required": "a pengawas needs at least one --region",
    "region_not_for_role": "--region is only for a pengawas (koordinator and admin see "
                           "every region or none)",
    "password_too_short": f"the password must have at least {MIN_PASSWORD_CHARS} characters",
    "password_too_long": "the password is too long",
    "name_taken": "a user with this name already exists",
    "unknown_user": "no such user",
    "disabled": "this user is disabled",
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lapor-admin",
                                     description="Reviewers' console accounts and API tokens.")
    commands = parser.add_subparsers(dest="command", required=True)

    user = commands.add_parser("user", help="manage console users")
    users = user.add_subparsers(dest="action", required=True)
    add = users.add_parser("add", help="create a user")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=["koordinator", "pengawas", "admin"])
    add.add_argument("--region", action="append", default=[], metavar="CODE",
                     help="province or kabupaten/kota code (pengawas; repeatable)")
    add.add_argument("--password-stdin", action="store_true", required=True,
                     help="read the password from standard input")
    users.add_parser("list", help="list users")
    for name in ("disable", "enable", "unlock"):
        users.add_parser(name, help=f"{name} a user").add_argument("name")
    password = users.add_parser("password", help="set a new password")
    password.add_argument("name")
    password.add_argument("--password-stdin", action="store_true", required=True)

    token = commands.add_parser("token", help="manage API tokens")
    tokens = token.add_subparsers(dest="action", required=True)
    tokens.add_parser("create", help="create an API token (printed once)").add_argument("name")
    return parser


def _read_password() -> str:
    line = sys.stdin.readline()
    return line.rstrip("\r\n")


def _run(args: argparse.Namespace, accounts: Accounts) -> int:
    if args.command == "token":
        token = accounts.create_token(args.name)
        print(f"API token for {args.name} (shown once; store it safely):")
        print(token)
        return 0
    if args.action == "add":
        reviewer = accounts.create_user(args.name, args.role, args.region, _read_password())
        if reviewer.role == "admin":
            regions = "-"
        else:
            regions = ", ".join(reviewer.regions) or "all"
        print(f"user {reviewer.name} created (role {reviewer.role}, regions {regions})")
    elif args.action == "list":
        for user in accounts.list_users():
            state = "disabled" if user.disabled else ("locked" if user.locked_until else "active")
            print(f"{user.name}\t{user.role}\t{' '.join(user.regions) or '-'}\t{state}")
    elif args.action == "password":
        accounts.set_password(args.name, _read_password(), actor="lapor-admin")
        print(f"password of {args.name} changed; their sessions are ended")
    elif args.action in ("disable", "enable"):
        accounts.set_disabled(args.name, args.action == "disable", actor="lapor-admin")
        print(f"user {args.name} {args.action}d")
    elif args.action == "unlock":
        accounts.unlock(args.name, actor="lapor-admin")
        print(f"user {args.name} unlocked")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run one command; see the module docstring for the exit codes."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    store = ConsoleStore(get_settings().database_url)
    try:
        return _run(args, Accounts(store))
    except AccountError as error:
        message = MESSAGES.get(error.code, error.code).format(detail=error.detail)
        print(f"lapor-admin: {message}", file=sys.stderr)
        return 1
    finally:
        store.dispose()


if __name__ == "__main__":
    sys.exit(main())
