"""The demo's sites and users, and the library ``Actor`` each user acts as.

A real host maps its own accounts and site memberships to an ``Actor`` the same way
(docs/integration.md, "The refund endpoints"): the library checks the roles itself on every
call (P2), so the pages only need to ask it.
"""

from __future__ import annotations

from typing import Final

import attrs

from kanorio_refunds import Actor, ActorId, Role, SiteId

DEMO_SITE: Final = SiteId("kanorio-demo")
OTHER_SITE: Final = SiteId("other-shop")


@attrs.frozen
class Site:
    """A website of the host: its id in the library and its name on the pages."""

    id: SiteId
    name: str


@attrs.frozen
class DemoUser:
    """A person who can sign in: ``key`` is what the sign-in form sends, ``site`` the site the
    E-commerce menu opens, ``actor`` who the library sees."""

    key: str
    name: str
    site: SiteId
    role: Role
    locale: str = "en_US"

    @property
    def actor(self) -> Actor:
        """The user as the library's ``Actor``: the role on the one site the user belongs to."""
        return Actor(ActorId(self.key), {self.site: self.role})

    @property
    def role_label(self) -> str:
        """'Owner', 'Administrator', 'Staff'."""
        return self.role.value.title()


SITES: Final[dict[SiteId, Site]] = {
    DEMO_SITE: Site(DEMO_SITE, "Kanorio Demo Shop"),
    OTHER_SITE: Site(OTHER_SITE, "Other Shop"),
}

DEMO_USERS: Final[tuple[DemoUser, ...]] = (
    DemoUser("olivia", "Olivia Owner", DEMO_SITE, Role.OWNER),
    DemoUser("adam", "Adam Admin", DEMO_SITE, Role.ADMINISTRATOR),
    DemoUser("sam", "Sam Staff", DEMO_SITE, Role.STAFF),
    DemoUser("otto", "Otto Other", OTHER_SITE, Role.ADMINISTRATOR, locale="de_DE"),
)


def find_user(key: object) -> DemoUser | None:
    """The demo user whose key is ``key``, or None."""
    return next((user for user in DEMO_USERS if user.key == key), None)
