"""Issue 2 in a real browser: every page type passes axe, keyboard-only registration, the
exit controls (Shift three times, the button and the hidden link, with and without
JavaScript) and pages that work without JavaScript."""

from __future__ import annotations

import re

import pyotp
import pytest
from playwright.sync_api import Page, expect

from engage.accounts.services import RECOVERY_CODE_COUNT, find_by_username
from engage.core import clock
from engage.core.models import Notification
from engage.core.permissions import Role
from engage.demo import DEMO_PASSWORD, seed_demo
from engage.extensions import db
from tests.browser.axe import assert_accessible
from tests.browser.conftest import LiveServer, sign_in_as
from tests.factories import PASSWORD, make_member, make_staff

pytestmark = pytest.mark.browser

NEW_PASSWORD = "lantern orchard pebble 42"


def heading(page: Page):
    return page.get_by_role("heading", level=1)


def focused(page: Page) -> dict:
    """What has keyboard focus now, and how big it is on screen."""
    return page.evaluate("""() => {
      const el = document.activeElement;
      const box = el.getBoundingClientRect();
      return {tag: el.tagName.toLowerCase(), id: el.id, text: el.innerText || "",
              href: el.getAttribute("href"), width: box.width, height: box.height};
    }""")


def signed_out(page: Page) -> None:
    """The page shows a visitor's menu, and the account page asks them to sign in."""
    expect(page.get_by_role("link", name="Sign in", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Sign out", exact=True)).to_have_count(0)


def account_needs_sign_in(page: Page, live_server: LiveServer) -> None:
    page.goto(f"{live_server.url}/account")
    expect(page).to_have_url(re.compile(re.escape(f"{live_server.url}/sign-in")))
    expect(heading(page)).to_have_text("Sign in")


def neutral_site(live_server: LiveServer) -> str:
    """A page on the live server stands in for the neutral website, so no test needs the
    internet; its query string tells it apart from the site's own support page."""
    url = f"{live_server.url}/support?neutral-site"
    live_server.app.config["EXIT_URL"] = url
    return url


def create_member(live_server: LiveServer, **kwargs):
    with live_server.app.app_context():
        member = make_member(**kwargs)
        db.session.commit()
    return member


# --- axe on every page type ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "title"),
    [
        ("/", "Your experience can change services"),
        ("/register", "Create an account"),
        ("/sign-in", "Sign in"),
        ("/support", "Get support"),
        ("/leaving-quickly", "Leaving this site quickly and safely"),
    ],
    ids=["home", "register", "sign-in", "support", "leaving-quickly"],
)
def test_public_pages_are_accessible(live_server, page, path, title):
    response = page.goto(f"{live_server.url}{path}")
    assert response.status == 200
    expect(heading(page)).to_have_text(title)
    assert_accessible(page, path)


def test_not_found_page_is_accessible(live_server, page):
    response = page.goto(f"{live_server.url}/no-such-page")
    assert response.status == 404
    expect(heading(page)).to_have_text("Page not found")
    expect(page.get_by_role("button", name="Exit this page", exact=True)).to_be_visible()
    assert_accessible(page, "404 page")


def test_registration_errors_are_accessible_and_announced(live_server, page):
    page.goto(f"{live_server.url}/register")
    page.get_by_role("button", name="Create account").click()
    summary = page.locator(".nhsuk-error-summary")
    expect(summary).to_contain_text("There is a problem")
    expect(summary.get_by_role("link", name="Enter a username")).to_be_visible()
    # Focus moves to the summary, so screen readers announce the problems straight away.
    expect(summary).to_be_focused()
    assert_accessible(page, "register page with errors")


@pytest.mark.parametrize(
    ("path", "title", "status"),
    [
        ("/account", "Your account", 200),
        ("/account/contact", "How we contact you", 200),
        ("/notifications", "Your messages", 200),
        ("/account/export", "Download your data", 200),
        ("/account/close", "Close your account", 200),
        ("/admin/", "You do not have access to this page", 403),
    ],
    ids=["account", "contact-preferences", "notifications", "export", "close-account",
         "403-page"],
)
def test_member_pages_are_accessible(live_server, page, path, title, status):
    with live_server.app.app_context():
        member = make_member(display_name="River")
        db.session.add(Notification(user_id=member.id, title="A consultation has opened",
                                    body="Sign in to read more.", link="/"))
        db.session.commit()
    sign_in_as(page, live_server, member)
    response = page.goto(f"{live_server.url}{path}")
    assert response.status == status
    expect(heading(page)).to_have_text(title)
    expect(page.get_by_role("link", name="Messages 1 unread")).to_be_visible()
    if path == "/notifications":
        expect(page.get_by_role("heading", name="New A consultation has opened")).to_be_visible()
    assert_accessible(page, path)


def test_two_factor_setup_is_accessible_and_turns_two_factor_on(live_server, page):
    with live_server.app.app_context():
        facilitator = make_staff(Role.FACILITATOR, two_factor=False)
        db.session.commit()
    sign_in_as(page, live_server, facilitator)
    expect(page).to_have_url(f"{live_server.url}/account/two-factor/setup")
    expect(heading(page)).to_have_text("Set up two-factor authentication")
    expect(page.get_by_role("img", name=re.compile("QR code"))).to_be_visible()
    assert_accessible(page, "two-factor set-up page")

    secret = page.locator(".engage-secret").inner_text().strip()
    page.get_by_label("Code", exact=True).fill(pyotp.TOTP(secret).at(clock.now()))
    page.get_by_role("button", name="Turn on two-factor").click()
    expect(heading(page)).to_have_text("Your recovery codes")
    expect(page.get_by_role("status")).to_have_text("Two-factor authentication is on.")
    assert_accessible(page, "recovery codes after two-factor set-up")


def test_two_factor_code_page_is_accessible_with_and_without_an_error(live_server, page):
    with live_server.app.app_context():
        make_staff(Role.FACILITATOR, username="sam-facilitator")
        db.session.commit()
    page.goto(f"{live_server.url}/sign-in")
    page.get_by_label("Username", exact=True).fill("sam-facilitator")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{live_server.url}/sign-in/two-factor")
    expect(heading(page)).to_have_text("Enter your code")
    assert_accessible(page, "two-factor code page")

    page.get_by_label("Code", exact=True).fill("000000")
    page.get_by_role("button", name="Continue").click()
    expect(page.locator(".nhsuk-error-summary")).to_contain_text("That code did not work")
    assert_accessible(page, "two-factor code page with an error")


def test_admin_pages_are_accessible(live_server, page):
    with live_server.app.app_context():
        seed_demo()
        admin = find_by_username("demo-admin")
    sign_in_as(page, live_server, admin, password=DEMO_PASSWORD)

    page.goto(f"{live_server.url}/admin/")
    expect(heading(page)).to_have_text("Admin")
    expect(page.get_by_role("link", name="Sam (facilitator)")).to_be_visible()
    assert_accessible(page, "admin index")

    page.get_by_role("link", name="Invite a member of staff").click()
    expect(heading(page)).to_have_text("Invite a member of staff")
    assert_accessible(page, "invite page")
    page.get_by_label("Name", exact=True).fill("Dana")
    page.get_by_label("Role").select_option(label="Facilitator")
    page.get_by_role("button", name="Create invitation").click()
    expect(heading(page)).to_have_text("Invitation created")
    expect(page.locator(f"a[href^='{live_server.url}/staff/join/']")).to_be_visible()
    assert_accessible(page, "invitation created page")

    page.goto(f"{live_server.url}/admin/audit")
    expect(heading(page)).to_have_text("Audit log")
    expect(page.get_by_role("cell", name="staff.invited")).to_be_visible()
    assert_accessible(page, "audit log")

    page.goto(f"{live_server.url}/admin/")
    page.get_by_role("link", name="Sam (facilitator)").click()
    expect(heading(page)).to_have_text("Sam (facilitator)")
    assert_accessible(page, "staff member page")

    page.get_by_label("Finance officer").check()
    page.get_by_role("button", name="Save changes").click()
    page.goto(f"{live_server.url}/admin/approvals")
    expect(heading(page)).to_have_text("Role changes waiting for a second admin")
    expect(page.get_by_text("You asked for this, so another admin must approve it.")
           ).to_be_visible()
    assert_accessible(page, "role changes waiting for a second admin")


# --- keyboard ----------------------------------------------------------------------------------


def test_keyboard_only_registration(live_server, page):
    page.goto(f"{live_server.url}/register")

    page.keyboard.press("Tab")
    first = focused(page)
    assert first["href"] == "/leave", f"the first Tab stop should leave the site: {first}"
    assert first["width"] > 10 and first["height"] > 10, "the exit link must show on focus"

    page.keyboard.press("Tab")
    skip = focused(page)
    assert skip["text"].strip() == "Skip to main content", skip
    assert skip["width"] > 10 and skip["height"] > 10, "the skip link must show on focus"
    page.keyboard.press("Enter")
    assert focused(page)["id"] == "maincontent", "the skip link should move focus to main"

    page.keyboard.press("Tab")
    assert focused(page)["id"] == "username"
    page.keyboard.type("keyboard-kit")
    page.keyboard.press("Tab")
    assert focused(page)["id"] == "display_name"
    page.keyboard.type("Kit")
    page.keyboard.press("Tab")
    assert focused(page)["id"] == "email"
    page.keyboard.press("Tab")
    assert focused(page)["id"] == "password"
    page.keyboard.type(NEW_PASSWORD)
    page.keyboard.press("Enter")

    expect(heading(page)).to_have_text("Your recovery codes")
    expect(page.get_by_role("list", name="Recovery codes").get_by_role("listitem")).to_have_count(
        RECOVERY_CODE_COUNT
    )
    with live_server.app.app_context():
        person = find_by_username("keyboard-kit")
        assert person is not None and person.display_name == "Kit"
    assert_accessible(page, "recovery codes after registration")


FOCUS_LOOK = """el => {
  const s = getComputedStyle(el);
  return [s.outlineStyle, s.outlineWidth, s.outlineColor, s.boxShadow, s.backgroundColor,
          s.color, s.textDecorationLine, s.borderColor].join(" | ");
}"""


def tab_stops_without_a_visible_focus(page: Page) -> list[str]:
    """Tab through the whole page; every stop must be on screen and look different when
    focused from when it is not (compared once focus has moved on)."""
    problems: list[str] = []
    previous = None
    first = None
    for _ in range(80):
        page.keyboard.press("Tab")
        element = page.evaluate_handle("document.activeElement")
        if previous is not None:
            handle, label, focused_look = previous
            if handle.evaluate(FOCUS_LOOK) == focused_look:
                problems.append(f"no visible focus change: {label}")
        if element.evaluate("el => el === document.body") or (
            first is not None and element.evaluate("(el, first) => el === first", first)
        ):
            return problems
        first = first or element
        label = element.evaluate("el => el.outerHTML.slice(0, 120)")
        box = element.bounding_box()
        if box is None or box["width"] < 4 or box["height"] < 4:
            problems.append(f"not on screen when focused: {label}")
        previous = (element, label, element.evaluate(FOCUS_LOOK))
    problems.append("Tab never left the page: is there a keyboard trap?")
    return problems


@pytest.mark.parametrize("signed_in", [False, True], ids=["visitor", "member"])
def test_every_tab_stop_shows_where_focus_is(live_server, page, signed_in):
    if signed_in:
        sign_in_as(page, live_server, create_member(live_server))
    for path in ["/", "/register"] if not signed_in else ["/", "/account"]:
        page.goto(f"{live_server.url}{path}")
        assert tab_stops_without_a_visible_focus(page) == [], path


# --- leaving quickly -----------------------------------------------------------------------------


def test_pressing_shift_three_times_leaves_and_signs_out(live_server, page):
    exit_url = neutral_site(live_server)
    sign_in_as(page, live_server, create_member(live_server))
    page.goto(f"{live_server.url}/notifications")
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))

    page.keyboard.press("Shift")
    page.keyboard.press("Shift")
    # Leaving starts at once when it happens; give a wrong exit time to show itself.
    page.wait_for_timeout(300)
    assert f"{live_server.url}/leave" not in requested, "two presses must not leave"
    expect(heading(page)).to_have_text("Your messages")

    page.keyboard.press("Shift")
    expect(page).to_have_url(exit_url)
    assert f"{live_server.url}/leave" in requested, "the exit must go through /leave"
    signed_out(page)
    account_needs_sign_in(page, live_server)


def test_typing_capital_letters_does_not_leave(live_server, page):
    neutral_site(live_server)
    page.goto(f"{live_server.url}/sign-in")
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.get_by_label("Username").click()
    for char in "My Big Dog":  # three capitals, each typed holding Shift as a person does
        if char.isupper():
            page.keyboard.down("Shift")
            page.keyboard.press(char)
            page.keyboard.up("Shift")
        else:
            page.keyboard.press(char if char != " " else "Space")
    page.wait_for_timeout(300)
    assert f"{live_server.url}/leave" not in requested
    expect(page.get_by_label("Username")).to_have_value("My Big Dog")


@pytest.mark.parametrize("control", ["button", "hidden link"])
def test_exit_works_without_javascript(live_server, page_without_js, control):
    page = page_without_js
    exit_url = neutral_site(live_server)
    sign_in_as(page, live_server, create_member(live_server))
    expect(page.locator("html")).to_have_class(re.compile(r"\bno-js\b"))

    if control == "button":
        page.get_by_role("button", name="Exit this page", exact=True).click()
    else:
        page.keyboard.press("Tab")
        expect(page.get_by_role("link", name="Exit this page now")).to_be_focused()
        page.keyboard.press("Enter")

    expect(page).to_have_url(exit_url)
    signed_out(page)
    account_needs_sign_in(page, live_server)


# --- without JavaScript ---------------------------------------------------------------------------


def test_registration_works_without_javascript(live_server, page_without_js):
    page = page_without_js
    page.goto(f"{live_server.url}/register")
    expect(page.locator("html")).to_have_class(re.compile(r"\bno-js\b"))

    page.get_by_label("Username").fill("no-script-river")
    page.get_by_label("Display name").fill("River")
    page.get_by_label("Password").fill("password")
    page.get_by_role("button", name="Create account").click()
    summary = page.locator(".nhsuk-error-summary")
    expect(summary).to_contain_text("most common ones")
    expect(page.get_by_label("Username")).to_have_value("no-script-river")

    page.get_by_label("Password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(heading(page)).to_have_text("Your recovery codes")
    expect(page.get_by_role("list", name="Recovery codes").get_by_role("listitem")).to_have_count(
        RECOVERY_CODE_COUNT
    )
    page.get_by_role("link", name="I have saved my codes, continue").click()
    expect(heading(page)).to_have_text("Your account")
    expect(page.get_by_text("Signed in as River.")).to_be_visible()


def test_home_page_logs_no_content_security_policy_violation(page: Page, live_server):
    """Nothing the page loads (fonts, styles, scripts, images) is refused by the CSP: the
    browser console stays free of violations and every request stays on this site."""
    messages: list[str] = []
    elsewhere: list[str] = []
    page.on("console", lambda message: messages.append(message.text))
    page.on("request", lambda req: None if req.url.startswith(live_server.url)
            else elsewhere.append(req.url))
    page.add_init_script("""document.addEventListener('securitypolicyviolation',
      e => console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI));""")
    page.goto(f"{live_server.url}/")
    page.wait_for_load_state("networkidle")
    expect(page.get_by_role("button", name="Exit this page")).to_be_visible()
    assert page.evaluate("document.body.classList.contains('nhsuk-frontend-supported')")
    assert page.evaluate("document.fonts.status") == "loaded"
    violations = [m for m in messages if "Content Security Policy" in m or "CSP" in m]
    assert violations == []
    assert elsewhere == []
