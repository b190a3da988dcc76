"""Users and the node's user registry (Redis 7.0 ACLSetUser, ACLStringSetUser, describe).

Rules kept from acl.c:

* a new user is `off`, has no password, no commands, no keys, and the channels the
  `acl-pubsub-default` config gives new selectors (`resetchannels` in 7.0);
* `setuser` is atomic: the rules are applied to a copy and only copied back if all of them
  apply; an existing user keeps its identity (clients hold the object), so the copy is
  written into it;
* passwords are kept as SHA-256 hex, in the order added, without duplicates;
* describe (ACL LIST, ACL SAVE) is: flags, `#hash`es, the root selector, then each other
  selector in parentheses;
* `default` always exists and cannot be deleted.
"""
from __future__ import annotations

import hashlib
import hmac

from cluster.acl import categories, rules
from cluster.acl.log import AclLog
from cluster.acl.rules import RuleError, Selector

_HEX_LOWER = frozenset(b"0123456789abcdef")


class AclError(Exception):
    """A refused ACL operation; `message` is the whole error text after `-`."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def hash_password(password: bytes) -> str:
    return hashlib.sha256(password).hexdigest()


def _valid_hash(data: bytes) -> bool:
    return len(data) == 64 and all(b in _HEX_LOWER for b in data)


def _digest(op: bytes) -> str:
    """The stored hash a password rule names: `>pw` / `<pw` hash the password, `#hash` /
    `!hash` give it (64 hex digits, else an error)."""
    if op[:1] in (b">", b"<"):
        return hash_password(op[1:])
    if not _valid_hash(op[1:]):
        raise RuleError(rules.E_BAD_HASH)
    return op[1:].decode()


class User:
    __slots__ = ("name", "enabled", "nopass", "sanitize", "passwords", "selectors",
                 "_described", "_unrestricted")

    def __init__(self, name: str, pubsub_all: bool = False):
        self.name = name
        self.enabled = False
        self.nopass = False
        self.sanitize: str | None = None     # "skip-sanitize-payload" / "sanitize-payload"
        self.passwords: list[str] = []
        self.selectors: list[Selector] = [Selector(True, pubsub_all)]
        self._described: bytes | None = None
        self._unrestricted: bool | None = None   # cached `unrestricted` (every check reads it)

    @property
    def root(self) -> Selector:
        return self.selectors[0]

    @property
    def unrestricted(self) -> bool:
        """All commands, keys and channels in the root selector (`~* &* +@all`)."""
        if self._unrestricted is None:
            root = self.root
            self._unrestricted = root.allkeys and root.allchannels and (
                root.allcommands or root.allowed >= categories.catalog().all_names)
        return self._unrestricted

    def copy(self, name: str | None = None) -> "User":
        new = User.__new__(User)
        new._copy_from(self)
        new.name = self.name if name is None else name
        return new

    def _copy_from(self, src: "User") -> None:
        self.enabled, self.nopass, self.sanitize = src.enabled, src.nopass, src.sanitize
        self.passwords = list(src.passwords)
        self.selectors = [s.copy() for s in src.selectors]
        self._described = self._unrestricted = None

    def check_password(self, password: bytes) -> bool:
        if self.nopass:
            return True
        digest = hash_password(password)
        ok = False
        for stored in self.passwords:
            ok |= hmac.compare_digest(stored, digest)
        return ok

    # -- rules --------------------------------------------------------------------------
    def apply(self, op: bytes, pubsub_all: bool = False) -> None:
        """ACLSetUser: one user rule, or a selector rule for the root selector.
        `pubsub_all`: acl-pubsub-default is allchannels (new selectors, `reset`)."""
        self._described = self._unrestricted = None
        if not op:
            return
        word = rules.cstr(op).lower()
        if word == b"on":
            self.enabled = True
        elif word == b"off":
            self.enabled = False
        elif word == b"skip-sanitize-payload":
            self.sanitize = "skip-sanitize-payload"
        elif word == b"sanitize-payload":
            self.sanitize = "sanitize-payload"
        elif word == b"nopass":
            self.nopass, self.passwords = True, []
        elif word == b"resetpass":
            self.nopass, self.passwords = False, []
        elif op[:1] in (b">", b"#"):
            digest = _digest(op)
            if digest not in self.passwords:
                self.passwords.append(digest)
            self.nopass = False
        elif op[:1] in (b"<", b"!"):
            digest = _digest(op)
            if digest not in self.passwords:
                raise RuleError(rules.E_NO_PASSWORD)
            self.passwords.remove(digest)
        elif op[:1] == b"(" and op[-1:] == b")":
            selector = Selector(False, pubsub_all)
            for part in rules.split_args(op[1:-1]) or ():
                rules.apply(selector, part)
            self.selectors.append(selector)
        elif word == b"clearselectors":
            del self.selectors[1:]
        elif word == b"reset":
            self.nopass, self.passwords = False, []
            root = self.root
            root.allkeys, root.keys = False, []
            root.allchannels, root.channels = pubsub_all, []
            self.enabled = False
            self.sanitize = "sanitize-payload"
            del self.selectors[1:]
            root.set_all_commands(False)
        else:
            rules.apply(self.root, op)

    # -- describing ---------------------------------------------------------------------
    def flags(self) -> list[str]:
        out = ["on" if self.enabled else "off"]
        if self.nopass:
            out.append("nopass")
        if self.sanitize:
            out.append(self.sanitize)
        return out

    def describe_bytes(self) -> bytes:
        """ACLDescribeUser: the rules after `user <name> ` in ACL LIST / the aclfile."""
        if self._described is None:
            parts = [f.encode() for f in self.flags()]
            parts.extend(b"#" + p.encode() for p in self.passwords)
            parts.append(rules.describe(self.root))
            text = b" ".join(parts)
            for sel in self.selectors[1:]:
                text += b" (" + rules.describe(sel) + b")"
            self._described = text
        return self._described

    def describe(self) -> str:
        return self.describe_bytes().decode("utf-8", "surrogateescape")

    def list_line(self) -> bytes:
        return b"user " + self.name.encode("utf-8", "surrogateescape") + b" " + \
            self.describe_bytes()


def selector_fields(sel: Selector) -> dict:
    """aclAddReplySelectorDescription: commands, keys, channels."""
    return {b"commands": rules.command_rules(sel), b"keys": rules.keys_text(sel),
            b"channels": rules.channels_text(sel)}


def setuser_error(op: bytes, reason: str) -> AclError:
    return AclError("ERR Error in ACL SETUSER modifier '%s': %s"
                    % (op.decode("utf-8", "surrogateescape"), reason))


def default_user(pubsub_all: bool) -> User:
    """ACLCreateDefaultUser: `on nopass ~* &* +@all`."""
    user = User("default", pubsub_all)
    for op in (b"+@all", b"~*", b"&*", b"on", b"nopass"):
        user.apply(op, pubsub_all)
    return user


class Acl:
    """The node's users, its ACL LOG, and who to tell when users change."""

    def __init__(self, pubsub_default: str = "resetchannels"):
        self.pubsub_default = pubsub_default
        self.default = default_user(self.pubsub_all)
        self.users: dict[str, User] = {"default": self.default}
        self.log = AclLog()
        self.listeners: list = []       # callables (name, deleted) after a user changes

    @property
    def pubsub_all(self) -> bool:
        return self.pubsub_default == "allchannels"

    def notify(self, name: str, deleted: bool) -> None:
        for listener in list(self.listeners):
            listener(name, deleted)

    def sorted_users(self) -> list[User]:
        """The users in Redis's rax order: byte order of their names."""
        return [self.users[n] for n in sorted(
            self.users, key=lambda n: n.encode("utf-8", "surrogateescape"))]

    def staged(self, user: User | None, name: str, ops: list[bytes]) -> User:
        """ACLStringSetUser minus the commit: the user as the rules would leave it."""
        try:
            merged = rules.merge_selector_args(ops)
        except ValueError as exc:
            raise AclError("ERR Unmatched parenthesis in acl selector starting at '%s'."
                           % exc.args[0].decode("utf-8", "surrogateescape")) from None
        temp = user.copy() if user is not None else User(name, self.pubsub_all)
        for op in merged:
            try:
                temp.apply(op, self.pubsub_all)
            except RuleError as exc:
                raise setuser_error(op, exc.reason) from None
        return temp

    def setuser(self, name: str, ops: list[bytes]) -> User:
        if rules.has_spaces(name.encode("utf-8", "surrogateescape")):
            raise AclError("ERR Usernames can't contain spaces or null characters")
        user = self.users.get(name)
        temp = self.staged(user, name, ops)
        if user is None:
            user = self.users[name] = temp
        else:
            user._copy_from(temp)
        self.notify(name, False)
        return user

    def deluser(self, names: list[str]) -> int:
        if "default" in names:
            raise AclError("ERR The 'default' user cannot be removed")
        deleted = 0
        for name in names:
            if self.users.pop(name, None) is not None:
                deleted += 1
                self.notify(name, True)
        return deleted

    def authenticate(self, name: bytes, password: bytes) -> User | None:
        user = self.users.get(name.decode("utf-8", "surrogateescape"))
        if user is None or not user.enabled or not user.check_password(password):
            return None
        return user

    def set_requirepass(self, password: str) -> None:
        self.default.apply(b"resetpass")
        if password:
            self.default.apply(b">" + password.encode("utf-8", "surrogateescape"))
        else:
            self.default.apply(b"nopass")

    def replace_all(self, users: dict[str, User]) -> None:
        """ACL LOAD's commit: every old user goes (its clients with it); `default` keeps
        its identity and takes the loaded rules (or the built-in ones)."""
        new_default = users.get("default") or default_user(self.pubsub_all)
        old = [n for n in self.users if n != "default"]
        self.default._copy_from(new_default)
        users = dict(users)
        users["default"] = self.default
        self.users = users
        for name in old:
            self.notify(name, True)
