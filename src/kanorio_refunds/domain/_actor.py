"""Who is acting: an actor holds roles per site (a role on one site means nothing on another)."""

from __future__ import annotations

import enum
from collections.abc import Mapping

import attrs

from kanorio_refunds.domain._ids import ActorId, SiteId


class Role(enum.Enum):
    """A person's role on one website."""

    # Hashed by identity, as members compare (issue 10: Enum's own __hash__ is Python code,
    # run on every set or dict lookup of a member).
    __hash__ = object.__hash__

    OWNER = "owner"
    ADMINISTRATOR = "administrator"
    STAFF = "staff"
    BUYER = "buyer"


#: Roles that may refund orders and change buyer access (E2).
REFUND_ROLES: frozenset[Role] = frozenset({Role.OWNER, Role.ADMINISTRATOR})


def _freeze_roles(
    roles: Mapping[SiteId, Role] | frozenset[tuple[SiteId, Role]],
) -> frozenset[tuple[SiteId, Role]]:
    if isinstance(roles, frozenset):
        return roles
    return frozenset(roles.items())


@attrs.frozen
class Actor:
    """A person (or system) using the library. ``roles`` maps a site to the actor's role there.

    ``Actor(ActorId("u1"), {SiteId("shop"): Role.OWNER})``; ``Actor.anonymous()`` has no roles.
    """

    id: ActorId
    roles: frozenset[tuple[SiteId, Role]] = attrs.field(factory=frozenset, converter=_freeze_roles)

    @classmethod
    def anonymous(cls) -> Actor:
        """An actor with no identity and no roles."""
        return cls(ActorId("anonymous"))

    def role_on(self, site: SiteId) -> Role | None:
        """The actor's role on ``site``, or None when the actor has none there."""
        for role_site, role in self.roles:
            if role_site == site:
                return role
        return None

    def may_refund(self, site: SiteId) -> bool:
        """E2: True when the actor is the owner or an administrator of ``site``."""
        return self.role_on(site) in REFUND_ROLES
