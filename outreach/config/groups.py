"""Groups of accounts (the account matrix): ``[groups] guangdong = ["gz", "@shenzhen"]``.

A member is an account name or ``@group``; groups nest, never in a cycle. Each group is
expanded once, when the config is loaded, to its accounts in the order written (depth
first, each account once, at its first place), so every face that takes ``--account
@group`` — the CLI, the console, the actions they call — reads the same list through
:func:`select_accounts`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from types import MappingProxyType

from outreach.errors import ConfigError, InputError, NotFound
from outreach.i18n import _

GROUP_MARK = "@"
Loc = tuple[str | int, ...]
ErrorAt = Callable[[Loc, str], ConfigError]


def is_group(spec: str) -> bool:
    """Whether an ``--account`` value names a group (``@guangdong``)."""
    return spec.startswith(GROUP_MARK)


def is_fan_out(accounts: str) -> bool:
    """Whether ``--account`` as typed (spaces around it allowed) asks for a fan-out."""
    return is_group(accounts.strip())


def expand_groups(raw: Mapping[str, Sequence[str]], accounts: Iterable[str], *,
                  name_ok: Callable[[str], bool], error: ErrorAt,
                  ) -> Mapping[str, tuple[str, ...]]:
    """Check ``[groups]`` and expand every group to its accounts.

    ``error(loc, message)`` builds the error for a key (it names the file and line): a bad
    group name, an empty group, a member listed twice, an unknown account or group, and a
    cycle — named in one line, ``groups.a → groups.b → groups.a``."""
    known = set(accounts)
    for name, members in raw.items():
        if not name_ok(name):
            raise error(("groups", name), _("group names use letters, digits, '-' and '_' only"))
        if not members:
            raise error(("groups", name), _("is empty; list account names or @groups"))
        seen: set[str] = set()
        for i, member in enumerate(members):
            if member in seen:
                raise error(("groups", name, i), _("{member!r} is listed twice").format(member=member))
            seen.add(member)
            if is_group(member):
                if member[1:] not in raw:
                    raise error(("groups", name, i), _("unknown group {member!r} (groups: {raw})").format(
                        member=member, raw=_listing(raw)))
            elif member not in known:
                raise error(("groups", name, i), _("unknown account {member!r} (accounts: {known}; a "
                                                   "group is written @name)").format(
                    member=member, known=_listing(known)))
    cycle = _first_cycle(raw)
    if cycle:
        shown = " → ".join(f"groups.{g}" for g in cycle)
        raise error(("groups", cycle[0]), _("groups form a cycle: {shown}").format(shown=shown))
    expanded: dict[str, tuple[str, ...]] = {}
    for name in raw:
        _expand(name, raw, expanded)
    return MappingProxyType(expanded)


def _listing(names: Iterable[str]) -> str:
    shown = sorted(names)
    if not shown:
        return "none"
    more = f", … ({len(shown)} in all)" if len(shown) > 12 else ""
    return ", ".join(shown[:12]) + more


def _first_cycle(raw: Mapping[str, Sequence[str]]) -> list[str] | None:
    """The first cycle met walking the groups in file order (``[a, b, a]``), or None."""
    done: set[str] = set()
    for start in raw:
        if start in done:
            continue
        path = [start]
        stack = [iter(_subgroups(raw, start))]
        while stack:
            child = next(stack[-1], None)
            if child is None:
                stack.pop()
                done.add(path.pop())
            elif child in path:
                return [*path[path.index(child):], child]
            elif child not in done:
                path.append(child)
                stack.append(iter(_subgroups(raw, child)))
    return None


def _subgroups(raw: Mapping[str, Sequence[str]], name: str) -> list[str]:
    return [m[1:] for m in raw[name] if is_group(m)]


def _expand(name: str, raw: Mapping[str, Sequence[str]],
            done: dict[str, tuple[str, ...]]) -> tuple[str, ...]:
    """The accounts of a group (no cycles: checked before)."""
    if name in done:
        return done[name]
    out: dict[str, None] = {}
    for member in raw[name]:
        for account in (_expand(member[1:], raw, done) if is_group(member) else (member,)):
            out.setdefault(account, None)
    done[name] = tuple(out)
    return done[name]


def select_accounts(spec: str, accounts: Mapping[str, object],
                    groups: Mapping[str, tuple[str, ...]]) -> tuple[str, ...]:
    """The accounts an ``--account`` value means: ``@group`` → its accounts in order; a
    name → that account. An unknown name or group is ``NotFound`` naming the known ones."""
    spec = spec.strip()
    if is_group(spec):
        group = spec[1:]
        if group not in groups:
            raise NotFound(_("unknown group {spec!r} (groups: {groups})").format(
                spec=spec, groups=_listing(groups)))
        return groups[group]
    if not spec:
        raise InputError(_("--account is empty"))
    if spec not in accounts:
        hint = _("; groups are written @name") if spec in groups else ""
        raise NotFound(_("unknown account {spec!r} (configured: {accounts}{hint})").format(
            spec=spec, accounts=_listing(accounts), hint=hint))
    return (spec,)
