"""Signing in as a person (the local Cognito pool on moto, Amplify Auth in the page): password, first
sign-in, forgotten password, a session shared by tabs and reloads, sign-out revoking the refresh token,
roles shown and enforced by what the page offers, hostile names inert."""
from __future__ import annotations

import re
import secrets
import time

import boto3
import pytest

from . import seed
from .conftest import ADMIN_EMAIL, ADMIN_PASSWORD, wait_loaded

HOSTILE_NAME = '<img src=x onerror="window.__pwned=1">Eve'


def cognito(stack):
    return boto3.client("cognito-idp", region_name="us-east-1", endpoint_url=stack.moto_url)


def add_member(stack, workspace: str, email: str, role: str, display_name: str = "",
               password: str | None = None, temporary: str | None = None) -> str:
    """A pool user (permanent `password`, or a `temporary` one as an invitation gives) in `workspace`."""
    from chalicelib.accounts.members import Member, MembershipError, MembershipStore
    c, pool = cognito(stack), stack.accounts.user_pool_id
    try:
        c.admin_create_user(UserPoolId=pool, Username=email, MessageAction="SUPPRESS",
                            TemporaryPassword=temporary or "Temp-Pa55word!x",
                            UserAttributes=[{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}])
    except c.exceptions.UsernameExistsException:
        pass
    if password:
        c.admin_set_user_password(UserPoolId=pool, Username=email, Password=password, Permanent=True)
    sub = next(a["Value"] for a in c.admin_get_user(UserPoolId=pool, Username=email)["UserAttributes"] if a["Name"] == "sub")
    try:
        MembershipStore(stack.services.client, stack.services.config.table_name).add(
            Member(workspace, sub, email, display_name, role, int(time.time()), "tests"))
    except MembershipError:
        pass
    return sub


def fresh_email(tag: str) -> str:
    return f"{tag}-{secrets.token_hex(3)}@example.com"


def open_signed_out(page, stack, lang: str = "en") -> None:
    page.goto(stack.web_url)
    page.evaluate("([l, c]) => localStorage.setItem('clr.prefs.v1', JSON.stringify({lang: l, tz: 'UTC', campaign: c, tab: 'campaign'}))",
                  [lang, seed.CAMPAIGN])
    page.reload()
    page.wait_for_selector("form.signin[data-screen=password]")


def sign_in_form(page, email: str, password: str) -> None:
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("form.signin button[type=submit]")


def choose_workspace(page, workspace: str) -> None:
    """Pick a workspace in the header and wait for the page redrawn for it (a new header)."""
    page.evaluate("() => { document.querySelector('#workspace').dataset.stale = '1'; }")
    page.select_option("#workspace", workspace)
    page.wait_for_function("w => { const s = document.querySelector('#workspace'); return s && !s.dataset.stale && s.value === w; }",
                           arg=workspace)


def signed_in_page(context, stack, email: str = ADMIN_EMAIL, password: str = ADMIN_PASSWORD):
    """A new tab, signed in through the form (the reports shown)."""
    page = context.new_page()
    open_signed_out(page, stack)
    sign_in_form(page, email, password)
    page.wait_for_selector("[role=tablist]")
    return page


def tokens(page) -> dict[str, str]:
    return page.evaluate("""() => Object.fromEntries(Object.entries(localStorage)
        .filter(([k]) => k.startsWith('CognitoIdentityServiceProvider.'))
        .map(([k, v]) => [k.split('.').pop(), v]))""")


@pytest.fixture(scope="module")
def viewer(stack):
    email, password = fresh_email("viewer"), "Viewer-Pa55word!"
    add_member(stack, "browser", email, "viewer", HOSTILE_NAME, password=password)
    return email, password


def test_password_sign_in_shows_who_where_and_role_and_survives_new_tabs_and_reloads(context, stack):
    add_member(stack, "browser", ADMIN_EMAIL, "admin", "Local admin")  # the seeded data lives in `browser`
    page = context.new_page()
    open_signed_out(page, stack)
    assert page.locator("form.signin .use-key").is_visible()  # the key sign-in stays, behind a link
    sign_in_form(page, ADMIN_EMAIL, "wrong-Password1!")
    page.wait_for_selector("form.signin .error:text('Incorrect email or password')")
    sign_in_form(page, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.wait_for_selector("[role=tablist]")
    assert page.inner_text(".who-name") == "Local admin"
    assert page.get_attribute(".role-badge", "data-role") == "admin"
    options = page.eval_on_selector_all("#workspace option", "os => os.map(o => o.value)")
    assert options == ["browser", "default", "demo"]
    assert page.input_value("#workspace") == "browser"  # a first visit lands where there are campaigns
    choose_workspace(page, "browser")
    wait_loaded(page, seed.CAMPAIGN, "campaign")
    assert ADMIN_PASSWORD not in page.evaluate("() => JSON.stringify(localStorage) + JSON.stringify(sessionStorage)")
    assert set(tokens(page)) >= {"accessToken", "refreshToken", "idToken"}

    other = context.new_page()  # a new tab of the same browser: already signed in, same workspace
    other.goto(f"{stack.web_url}?campaign={seed.CAMPAIGN}&tab=email")
    wait_loaded(other, seed.CAMPAIGN, "email")
    assert other.locator("form.signin").count() == 0
    assert other.input_value("#workspace") == "browser"
    other.reload()
    wait_loaded(other, seed.CAMPAIGN, "email")
    other.close()

    choose_workspace(page, "demo")  # another workspace: its own campaigns
    page.wait_for_function("c => document.querySelector('.picker-current')?.textContent !== c", arg=seed.CAMPAIGN)
    choose_workspace(page, "browser")
    page.close()


def test_sign_out_revokes_the_refresh_token_and_signs_out_every_tab(context, stack):
    add_member(stack, "browser", ADMIN_EMAIL, "admin", "Local admin")
    page = signed_in_page(context, stack)
    refresh = tokens(page)["refreshToken"]
    other = context.new_page()
    other.goto(stack.web_url)
    other.wait_for_selector("[role=tablist]")

    page.click(".signout")
    page.wait_for_selector("form.signin .notice:text('You are signed out.')")
    assert tokens(page) == {}
    other.wait_for_selector("form.signin .notice:text('signed out in another tab')")
    c = cognito(stack)
    with pytest.raises(c.exceptions.NotAuthorizedException):
        c.initiate_auth(ClientId=stack.accounts.client_id, AuthFlow="REFRESH_TOKEN_AUTH",
                        AuthParameters={"REFRESH_TOKEN": refresh})
    page.reload()  # and it stays signed out
    page.wait_for_selector("form.signin[data-screen=password]")
    other.close()
    page.close()


def test_an_ended_session_returns_to_sign_in_with_a_reason(context, stack):
    add_member(stack, "browser", ADMIN_EMAIL, "admin", "Local admin")
    page = signed_in_page(context, stack)
    found = tokens(page)
    cognito(stack).revoke_token(Token=found["refreshToken"], ClientId=stack.accounts.client_id)
    # the access token runs out: Amplify must refresh, and the refresh is refused
    page.evaluate("""() => { for (const k of Object.keys(localStorage)) if (k.endsWith('.accessToken')) {
        const [h, p, s] = localStorage.getItem(k).split('.');
        const claims = JSON.parse(atob(p.replace(/-/g, '+').replace(/_/g, '/')));
        claims.exp = Math.floor(Date.now() / 1000) - 60;
        localStorage.setItem(k, [h, btoa(JSON.stringify(claims)).replace(/=+$/, ''), s].join('.')); } }""")
    page.reload()
    page.wait_for_selector("form.signin[data-screen=password] .error:text('Your session has ended')")
    assert tokens(page) == {}  # its leftovers are gone
    page.close()


def test_first_sign_in_sets_a_password_and_a_viewer_gets_no_editing_controls(context, stack):
    email, temporary = fresh_email("new"), "Temp-Pa55word!x"
    add_member(stack, "browser", email, "viewer", HOSTILE_NAME, temporary=temporary)
    page = context.new_page()
    open_signed_out(page, stack)
    sign_in_form(page, email, temporary)
    page.wait_for_selector("form.signin[data-screen=newPassword]")
    page.fill("#new-password", "Brand-New-Pa55!")
    page.fill("#confirm-password", "Brand-New-Pa55?")
    page.click("form.signin button[type=submit]")
    page.wait_for_selector("form.signin .error:text('differ')")
    page.fill("#confirm-password", "Brand-New-Pa55!")
    page.click("form.signin button[type=submit]")
    page.wait_for_selector("[role=tablist]")
    wait_loaded(page, seed.CAMPAIGN, "campaign")
    # a hostile display name is shown as text
    assert page.inner_text(".who-name") == HOSTILE_NAME
    assert page.evaluate("() => window.__pwned") is None
    assert page.locator(".who img").count() == 0
    # a viewer: one workspace (no chooser), reads reports, and is offered nothing to edit
    assert page.locator("#workspace").count() == 0 and page.inner_text(".who-workspace") == "browser"
    assert page.get_attribute(".role-badge", "data-role") == "viewer"
    assert page.locator(".email-me").count() == 0
    assert page.locator(".admin-link").count() == 0
    page.click(".alerts-btn")
    page.wait_for_selector("dialog.alerts-dialog")
    assert page.locator("dialog.alerts-dialog form.alert-editor").count() == 0  # no rule editor
    page.keyboard.press("Escape")
    # the new password is the one that works now
    c = cognito(stack)
    auth = c.initiate_auth(ClientId=stack.accounts.client_id, AuthFlow="USER_PASSWORD_AUTH",
                           AuthParameters={"USERNAME": email, "PASSWORD": "Brand-New-Pa55!"})
    assert auth["AuthenticationResult"]["AccessToken"]
    page.close()


def test_forgotten_password_is_reset_with_the_emailed_code(context, stack, viewer):
    email, _ = viewer
    page = context.new_page()
    open_signed_out(page, stack, lang="fr")
    page.click("form.signin .forgot")
    page.wait_for_selector("form.signin[data-screen=forgot]")
    assert page.input_value("#email") == ""
    page.fill("#email", email)
    page.click("form.signin button[type=submit]")
    page.wait_for_selector("form.signin[data-screen=reset] .notice:text('Un code a été envoyé')")
    page.fill("#new-password", "Reset-Pa55word!!")
    page.fill("#confirm-password", "Reset-Pa55word!!")
    [eml] = list(stack.outbox.glob(f"reset-{email}-*.eml"))  # local mode emails the code to its outbox
    code = re.search(r"code is (\d{6})", eml.read_text()).group(1)
    page.fill("#reset-code", "000000" if code != "000000" else "111111")
    page.click("form.signin button[type=submit]")
    page.wait_for_selector("form.signin .error:text('Ce code n’est pas le bon')")
    page.fill("#reset-code", code)
    page.click("form.signin button[type=submit]")
    page.wait_for_selector("form.signin[data-screen=password] .notice:text('Votre mot de passe a été changé')")
    sign_in_form(page, email, "Reset-Pa55word!!")
    page.wait_for_selector("[role=tablist]")
    page.click(".signout")
    page.wait_for_selector("form.signin[data-screen=password]")
    cognito(stack).admin_set_user_password(UserPoolId=stack.accounts.user_pool_id, Username=email,
                                           Password=viewer[1], Permanent=True)
    page.close()


def test_a_person_in_no_workspace_is_told_so(context, stack):
    email, password = fresh_email("nobody"), "Nobody-Pa55word!"
    c = cognito(stack)
    c.admin_create_user(UserPoolId=stack.accounts.user_pool_id, Username=email, MessageAction="SUPPRESS",
                        UserAttributes=[{"Name": "email", "Value": email}])
    c.admin_set_user_password(UserPoolId=stack.accounts.user_pool_id, Username=email, Password=password, Permanent=True)
    page = context.new_page()
    open_signed_out(page, stack)
    sign_in_form(page, email, password)
    page.wait_for_selector(f".no-workspace:has-text('{email}')")
    page.click(".no-workspace .signout")
    page.wait_for_selector("form.signin[data-screen=password]")
    page.close()


def test_a_signed_in_admin_manages_the_chosen_workspace(context, stack):
    """The admin page as a person sees it: their own row marked, an invitation made in the workspace
    chosen in the header (X-Workspace), and the audit naming them."""
    page = signed_in_page(context, stack)
    choose_workspace(page, "default")
    page.click(".admin-link")
    own = page.locator(f".admin-members tr[data-email='{ADMIN_EMAIL}'] .admin-you")
    own.wait_for()
    assert own.inner_text().strip() == "(you)"
    email = fresh_email("editor")
    page.fill(".invite-form input[name=email]", email)
    page.select_option(".invite-form select[name=role]", "editor")
    page.click(".invite-form button[type=submit]")
    page.locator(f".admin-invitations tr[data-email='{email}']").wait_for()
    row = page.locator(".admin-audit tbody tr[data-action='member.invited']").first
    row.wait_for()
    assert ADMIN_EMAIL in row.inner_text() and email in row.inner_text()
    # the invitation went to the pool, and an invitation to `default` only (no membership before accepting)
    user = cognito(stack).admin_get_user(UserPoolId=stack.accounts.user_pool_id, Username=email)
    assert user["UserStatus"] == "FORCE_CHANGE_PASSWORD"
    from chalicelib.accounts.members import MembershipStore
    sub = next(a["Value"] for a in user["UserAttributes"] if a["Name"] == "sub")
    record = MembershipStore(stack.services.client, stack.services.config.table_name).user(sub)
    assert record.roles == {} and [(i["workspace"], i["role"]) for i in record.invitations] == [("default", "editor")]
    page.click(".reports-link")
    page.wait_for_selector("[role=tablist]")
    page.close()


def test_an_invitation_is_accepted_end_to_end(browser, context, stack):
    """Invited on the admin page, the person gets the invitation the pool's trigger writes (local mode:
    an .eml in the outbox) naming the inviter, the workspace and the role, with a temporary password;
    signs in with it, chooses a password, accepts the invitation and lands as a viewer."""
    import email
    import email.policy
    add_member(stack, "browser", ADMIN_EMAIL, "admin", "Local admin")
    page = signed_in_page(context, stack)
    choose_workspace(page, "browser")
    page.click(".admin-link")
    invitee = fresh_email("invitee")
    page.fill(".invite-form input[name=email]", invitee)
    page.fill(".invite-form input[name=display_name]", "Ivy Invitee")
    page.click(".invite-form button[type=submit]")
    page.locator(f".admin-invitations tr[data-email='{invitee}']").wait_for()
    page.close()

    [eml] = list(stack.outbox.glob(f"invitation-{invitee}-*.eml"))
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert message["To"] == invitee
    assert message["Subject"] == "Local admin (admin@example.com) invited you to workspace browser"
    text = message.get_body(("plain",)).get_content()
    assert "join the workspace “browser” as viewer" in text
    temporary = re.search(r"this temporary password:\s+(\S+)", text).group(1)

    fresh = browser.new_context(viewport={"width": 1440, "height": 900}, locale="en-GB", timezone_id="UTC")
    page = fresh.new_page()
    open_signed_out(page, stack)
    sign_in_form(page, invitee, temporary)
    page.wait_for_selector("form.signin[data-screen=newPassword]")
    page.fill("#new-password", "Ivy-Chose-Pa55!")
    page.fill("#confirm-password", "Ivy-Chose-Pa55!")
    page.click("form.signin button[type=submit]")
    # in no workspace yet: the invitation, to accept (nothing joined before that)
    invitation = page.locator(".no-workspace .invitation[data-workspace='browser']")
    invitation.wait_for()
    assert invitation.locator(".invitation-text").inner_text() == (
        "Local admin (admin@example.com) invited you to the workspace “browser” as viewer.")
    page.screenshot(path="/tmp/invitation-first-sign-in-1440.png")
    invitation.locator(".invitation-accept").click()
    page.wait_for_selector("[role=tablist]")
    assert page.inner_text(".who-name") == "Ivy Invitee"
    assert page.get_attribute(".role-badge", "data-role") == "viewer"
    wait_loaded(page, seed.CAMPAIGN, "campaign")
    fresh.close()


def test_a_member_elsewhere_accepts_an_invitation_from_the_banner(browser, stack):
    """Someone who already has an account is invited (the admin cannot tell): after signing in they see
    the invitation above their reports, accept it, and the new workspace is theirs, their name unchanged."""
    from chalicelib.accounts.admin import AccountAdmin
    from chalicelib.accounts.audit import AuditLog
    from chalicelib.accounts.directory import UserDirectory
    from chalicelib.accounts.members import MembershipStore
    from chalicelib.auth import Principal
    email_, password = fresh_email("elsewhere"), "Else-Where-Pa55!"
    add_member(stack, "default", email_, "editor", "Elle Own", password=password)
    client, table = stack.services.client, stack.services.config.table_name
    admin = AccountAdmin(MembershipStore(client, table), AuditLog(client, table), stack.services.keys,
                         UserDirectory(cognito(stack), stack.accounts.user_pool_id))
    boss = Principal("browser", frozenset({"admin"}), "k_browsertests", "key")
    admin.invite("browser", boss, {"email": email_, "role": "editor", "display_name": "Not Her Name"}, time.time())
    for width, height in ((390, 800), (1440, 900)):  # the phone only looks; the desktop accepts
        ctx = browser.new_context(viewport={"width": width, "height": height}, locale="en-GB", timezone_id="UTC")
        page = ctx.new_page()
        open_signed_out(page, stack)
        sign_in_form(page, email_, password)
        banner = page.locator(".invitations .invitation[data-workspace='browser']")
        banner.wait_for()
        assert page.locator("[role=tablist]").count() == 1  # the reports of `default` are there too
        page.screenshot(path=f"/tmp/invitation-banner-{width}.png")
        if width == 390:
            assert page.evaluate("() => document.documentElement.scrollWidth <= document.documentElement.clientWidth + 1")
            # the invitation email's link names the workspace: before accepting, it offers the invitation
            page.goto(f"{stack.web_url}?ws=browser")
            page.locator(".not-member .invitation[data-workspace='browser'] .invitation-accept").wait_for()
            assert page.locator(".not-member > p").inner_text() == "Or open one of your workspaces:"
            page.screenshot(path="/tmp/invitation-link-390.png")
            ctx.close()
            continue
        assert page.inner_text(".invitation-text") == "API key k_browsertests invited you to the workspace “browser” as editor."
        banner.locator(".invitation-accept").click()
        page.wait_for_function("() => document.querySelector('#workspace')?.value === 'browser'")
        page.wait_for_selector("[role=tablist]")
        assert page.locator(".invitations").count() == 0
        assert page.get_attribute(".role-badge", "data-role") == "editor"
        assert page.inner_text(".who-name") == "Elle Own"  # the admin's suggestion never renames anyone
        options = page.eval_on_selector_all("#workspace option", "os => os.map(o => o.value)")
        assert options == ["browser", "default"]
        page.wait_for_selector("main[data-loaded]")  # the reports of `browser`, readable with the refreshed token
        assert page.locator(".banner:not([hidden])").count() == 0
        ctx.close()


def totp_code(secret: str) -> str:
    """The authenticator app's current code, computed while at least 5 s of its 30 s step remain."""
    import base64
    from cryptography.hazmat.primitives.hashes import SHA1
    from cryptography.hazmat.primitives.twofactor.totp import TOTP
    if time.time() % 30 > 25:
        time.sleep(30 - time.time() % 30 + 0.2)
    key = secret.replace(" ", "")
    key += "=" * (-len(key) % 8)
    return TOTP(base64.b32decode(key, casefold=True), 6, SHA1(), 30, enforce_key_length=False).generate(time.time()).decode()


def test_two_step_verification_on_then_asked_at_sign_in_then_off(context, stack):
    email, password = fresh_email("mfa"), "Mfa-User-Pa55word!"
    add_member(stack, "browser", email, "editor", "Mo Factor", password=password)
    page = signed_in_page(context, stack, email, password)
    page.on("dialog", lambda d: d.accept())  # the "turn off?" confirmation
    page.click(".who-name")
    page.click("[role=menuitem]:text('Two-step verification')")
    page.wait_for_selector(".mfa-state[data-state=off]")
    page.click(".mfa-start")
    secret = page.inner_text(".mfa-secret")
    assert page.eval_on_selector(".mfa-qr", "c => c.width > 100 && !c.hidden")  # the QR code is drawn
    page.fill("#mfa-code", "000000" if totp_code(secret) != "000000" else "111111")
    page.click(".mfa-verify button[type=submit]")
    page.wait_for_selector("dialog.mfa-dialog .error:text('not right')")
    page.fill("#mfa-code", totp_code(secret))
    page.click(".mfa-verify button[type=submit]")
    page.wait_for_selector(".mfa-state[data-state=on]")
    page.click("dialog.mfa-dialog [data-close]")
    page.click(".signout")
    page.wait_for_selector("form.signin[data-screen=password]")

    sign_in_form(page, email, password)  # now a code is asked for
    page.wait_for_selector("form.signin[data-screen=totp]")
    page.fill("#totp", totp_code(secret))
    page.click("form.signin button[type=submit]")
    page.wait_for_selector("[role=tablist]")
    page.click(".who-name")
    page.click("[role=menuitem]:text('Two-step verification')")
    page.click(".mfa-off")
    page.wait_for_selector(".mfa-state[data-state=off]")
    page.close()
