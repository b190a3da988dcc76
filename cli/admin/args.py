"""What every admin subcommand shares on the command-line side: parse_args() reads the
options the way redis-cli does (known options anywhere, `-a/--pass`, `--user`,
REDISCLI_AUTH, `--cluster-yes`, ...) into an AdminArgs; admin_main(fn) runs a subcommand
body, turning AdminError / UsageError into its Redis-worded line and exit code;
wrong_arity() is redis-cli's arity error.

    def run(command, argv):
        return admin_main(lambda: _create(parse_args(argv, command)))

Layering: args -> connection -> output; no subcommand module is imported here.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import Callable

from cli.admin import output
from cli.admin.connection import AdminError, Auth

VALUED = {
    "--cluster-replicas", "--cluster-from", "--cluster-to", "--cluster-slots",
    "--cluster-timeout", "--cluster-pipeline", "--cluster-threshold",
    "--cluster-master-id", "--cluster-primary-id", "--cluster-from-user",
    "--cluster-from-pass",
}
FLAGS = {
    "--cluster-yes", "--cluster-replace", "--cluster-simulate",
    "--cluster-use-empty-masters", "--cluster-slave", "--cluster-replica",
    "--cluster-search-multiple-owners", "--cluster-fix-with-unreachable-masters",
    "--cluster-only-masters", "--cluster-only-replicas", "--cluster-copy",
    "--no-auth-warning", "--cluster-from-askpass",
}
AUTH_WARNING = ("Warning: Using a password with '-a' or '-u' option on the command line "
                "interface may not be safe.\n")


@dataclass
class AdminArgs:
    command: str
    positional: list[str] = field(default_factory=list)
    opts: dict = field(default_factory=dict)        # "--cluster-x" -> str | True
    weights: list[str] = field(default_factory=list)  # --cluster-weight n=w ...
    password: str | None = None
    user: str | None = None

    @property
    def yes(self) -> bool:
        return bool(self.opts.get("--cluster-yes"))

    def flag(self, name: str) -> bool:
        return bool(self.opts.get(name))

    def value(self, name: str, default=None):
        return self.opts.get(name, default)

    def int_value(self, name: str, default: int) -> int:
        raw = self.opts.get(name)
        if raw is None:
            return default
        try:
            return int(raw)
        except ValueError:
            return int(float(raw)) if _is_number(raw) else 0

    @property
    def auth(self) -> Auth:
        return Auth(self.password, self.user)


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


class UsageError(Exception):
    pass


def parse_args(argv: list[str], command: str, raw_tail_after: int | None = None) -> AdminArgs:
    """Split options from positionals as redis-cli does. With raw_tail_after=n, once n
    positionals were seen the rest is taken verbatim (the command of `call`)."""
    args = AdminArgs(command)
    i = 0
    while i < len(argv):
        tok = argv[i]
        last = i == len(argv) - 1
        if raw_tail_after is not None and len(args.positional) >= raw_tail_after:
            args.positional.extend(argv[i:])
            break
        if tok in ("-a", "--pass") and not last:
            args.password = argv[i + 1]
            i += 2
            continue
        if tok == "--user" and not last:
            args.user = argv[i + 1]
            i += 2
            continue
        if tok == "--cluster-weight" and not last:
            j = i + 1
            while j < len(argv) and not argv[j].startswith("--") and "=" in argv[j]:
                args.weights.append(argv[j])
                j += 1
            i = j
            continue
        if tok in VALUED and not last:
            args.opts[tok] = argv[i + 1]
            i += 2
            continue
        if tok in FLAGS:
            args.opts[tok] = True
            i += 1
            continue
        if tok.startswith("-") and len(tok) > 1:
            raise UsageError(f"Unrecognized option or bad number of args for: '{tok}'")
        args.positional.append(tok)
        i += 1
    if args.opts.get("--cluster-replica"):
        args.opts["--cluster-slave"] = True
    if "--cluster-primary-id" in args.opts:
        args.opts.setdefault("--cluster-master-id", args.opts["--cluster-primary-id"])
    if args.password is None and os.environ.get("REDISCLI_AUTH"):
        args.password = os.environ["REDISCLI_AUTH"]
    elif args.password is not None and not args.flag("--no-auth-warning"):
        sys.stderr.write(AUTH_WARNING)
    return args


def wrong_arity() -> int:
    output.err("[ERR] Wrong number of arguments for specified --cluster sub command\n")
    return 1


def admin_main(body: Callable[[], int]) -> int:
    """Run a subcommand body: AdminError -> its message and exit code; Ctrl-C -> 130."""
    try:
        return body()
    except AdminError as exc:
        exc.report()
        return exc.exit_code
    except UsageError as exc:
        sys.stderr.write(f"{exc}\n")
        return 1
    except KeyboardInterrupt:
        sys.stdout.write("\n")
        return 130
    except BrokenPipeError:
        return 1
