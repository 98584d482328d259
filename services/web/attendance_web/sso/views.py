"""Single sign-on pages: the login page's "Sign in with your school account" (by school e-mail), the provider's
callback, and the admin's settings page (/school/sign-in). How the provider's answer is checked: sso.provider.

Who signs in: the provider's verified e-mail, in one of the school's domains, names a teacher of that school (not
disabled), or an open invitation of that school, which the sign-in accepts (the account is made, with a random
password nobody knows: the school signs in through its provider). Anyone else is refused with a sentence.
"""

from __future__ import annotations

import secrets
from typing import Any

from flask import flash, make_response, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required, login_user
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from werkzeug.security import generate_password_hash

from attendance_shared.models import AccountLink, AccountLinkKind, School, Teacher, utcnow

from .. import ownership  # a module, not its names: ownership imports auth, which reaches this package
from ..audit import audit
from ..auth import throttle
from ..auth.user import TeacherUser, safe_next
from ..extensions import db, limiter
from ..sealed import seal
from . import bp, provider
from .forms import SchoolEmailForm, SsoSettingsForm
from .schools import school_for_email

SCHOOL_KEY = "sso_school"
NEXT_KEY = "sso_next"
NO_SCHOOL = "No school signs in with {domain} accounts here. Sign in with your email and password instead."


@bp.route("/login/sso", methods=["POST"])
@limiter.limit("30 per minute")
def start() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(url_for("courses.dashboard"))
    form = SchoolEmailForm()
    if not form.validate_on_submit():
        flash(" ".join(form.school_email.errors) or "Enter your school email.", "error")
        return redirect(url_for("auth.login"), 303)
    email = form.school_email.data.strip().lower()
    school = school_for_email(email)
    if school is None:
        flash(NO_SCHOOL.format(domain=email.rsplit("@", 1)[-1]), "error")
        return redirect(url_for("auth.login"), 303)
    session[SCHOOL_KEY] = school.id
    session[NEXT_KEY] = request.args.get("next") or ""
    try:
        where = provider.start(school, url_for("sso.callback", _external=True), email)
    except provider.SignInFailed as failed:
        flash(str(failed), "error")
        return redirect(url_for("auth.login"), 303)
    # A page that opens the provider, not a redirect: the sign-in page's CSP (form-action 'self') rightly stops a
    # form from being redirected to another site.
    return render_template("sso/opening.html", where=where, school=school), 200, {"Cache-Control": "no-store"}


@bp.route("/login/sso/callback")
@limiter.limit("30 per minute")
def callback() -> ResponseReturnValue:
    school_id = session.pop(SCHOOL_KEY, None)
    next_url = session.pop(NEXT_KEY, None)
    school = db().get(School, school_id) if isinstance(school_id, int) else None
    if school is None or not provider.is_set_up(school):
        flash("That sign-in did not start here, or it took too long. Start again below.", "error")
        return redirect(url_for("auth.login"), 303)
    try:
        claims = provider.finish(school)
        teacher = _teacher_for(school, claims)
    except provider.SignInFailed as failed:
        audit("login_sso_refused", None, f"school={school.id} reason={str(failed)[:120]!r}")
        db().commit()
        flash(str(failed), "error")
        return redirect(url_for("auth.login"), 303)
    audit("login", teacher.id, f"sso school={school.id}")
    db().commit()
    login_user(TeacherUser(teacher))
    response = make_response(redirect(safe_next(next_url)))
    throttle.remember_device(response, teacher.email)
    return response


def _teacher_for(school: School, claims: dict[str, Any]) -> Teacher:
    email = str(claims.get("email") or "").strip().lower()
    if not email:
        raise provider.SignInFailed(
            "Your school's sign-in service did not say your e-mail address, so you are not signed in. "
            "Ask your school's admin to allow the e-mail scope."
        )
    if claims.get("email_verified") is not True:
        raise provider.SignInFailed(
            f"Your school's sign-in service has not verified {email}, so you are not signed in with it."
        )
    if email.rsplit("@", 1)[-1] not in provider.domains(school):
        raise provider.SignInFailed(f"{email} is not an address of {school.name}, so you are not signed in.")
    teacher = db().scalar(select(Teacher).where(Teacher.email == email))
    if teacher is not None and teacher.school_id == school.id:
        if teacher.disabled_at is not None:
            raise provider.SignInFailed("This account is disabled. Your school's IT administrator can enable it again.")
        return teacher
    invitation = _open_invitation(school, email) if teacher is None else None
    if invitation is None:
        raise provider.SignInFailed(
            f"{email} has no account at {school.name}. Ask your school's admin to invite you, then sign in again."
        )
    return _accept(invitation, email, str(claims.get("name") or email.split("@")[0]))


def _open_invitation(school: School, email: str) -> AccountLink | None:
    return db().scalar(
        select(AccountLink).where(
            AccountLink.school_id == school.id,
            AccountLink.kind == AccountLinkKind.INVITATION,
            AccountLink.email == email,
            AccountLink.used_at.is_(None),
            AccountLink.revoked_at.is_(None),
            AccountLink.expires_at > utcnow(),
        )
    )


def _accept(link: AccountLink, email: str, name: str) -> Teacher:
    """The invitation accepted by signing in with the school account: the account is made now."""
    teacher = Teacher(
        school_id=link.school_id,
        role=link.role,
        email=email,
        name=name.strip()[:120] or email,
        password_hash=generate_password_hash(secrets.token_urlsafe(32)),  # nobody knows it
    )
    link.used_at = utcnow()
    db().add(teacher)
    try:
        db().flush()
    except IntegrityError as error:
        db().rollback()
        raise provider.SignInFailed("This invitation was used already. Sign in again.") from error
    audit("invitation_accepted", teacher.id, f"invited_by={link.created_by_id} via=sso")
    return teacher


# --- the admin's page ------------------------------------------------------------------------------------------


def _settings_page(admin: Teacher, form: SsoSettingsForm | None = None, status: int = 200) -> ResponseReturnValue:
    school = admin.school
    if form is None:
        form = SsoSettingsForm(formdata=None)
        form.issuer.data = school.sso_issuer
        form.client_id.data = school.sso_client_id
        form.domains.data = " ".join(provider.domains(school))
        form.password_sign_in_off.data = school.password_sign_in_off
    return render_template(
        "sso/settings.html",
        school=school,
        form=form,
        has_secret=bool(school.sso_client_secret),
        redirect_uri=url_for("sso.callback", _external=True),
        set_up=provider.is_set_up(school),
    ), status


def _clean_domains(text: str) -> list[str] | str:
    """The domains, lower case; or the sentence saying which one is not a domain."""
    found = []
    for raw in text.replace(",", " ").split():
        domain = raw.strip().lower().lstrip("@")
        labels = domain.split(".")
        if (
            len(labels) < 2
            or not all(label and len(label) <= 63 for label in labels)
            or not all(ch.isalnum() or ch in "-." for ch in domain)
        ):
            return f"“{raw}” is not an e-mail domain (like lincoln.example.org)."
        if domain not in found:
            found.append(domain)
    return found


@bp.route("/school/sign-in", methods=["GET", "POST"])
@login_required
def school_settings() -> ResponseReturnValue:
    admin = ownership.school_admin()
    if request.method == "GET":
        return _settings_page(admin)
    form = SsoSettingsForm()
    if not form.validate_on_submit():
        return _settings_page(admin, form, 400)
    school = admin.school
    domains = _clean_domains(form.domains.data or "")
    if isinstance(domains, str):
        form.domains.errors = [domains]
        return _settings_page(admin, form, 400)
    issuer = (form.issuer.data or "").strip().rstrip("/") or None
    client_id = (form.client_id.data or "").strip() or None
    secret = form.client_secret.data or ""
    has_secret = bool(secret) or bool(school.sso_client_secret)
    if form.password_sign_in_off.data and not (issuer and client_id and has_secret and domains):
        form.password_sign_in_off.errors = [
            "Password sign-in can be turned off only once the issuer, client ID, client secret and domains are set."
        ]
        return _settings_page(admin, form, 400)
    taken = _domains_of_other_schools(school, domains)
    if taken:
        form.domains.errors = [f"{taken} already signs in through another school here."]
        return _settings_page(admin, form, 400)
    school.sso_issuer = issuer
    school.sso_client_id = client_id
    if secret:
        school.sso_client_secret = seal(secret)
    school.sso_domains = " ".join(domains) or None
    school.password_sign_in_off = bool(form.password_sign_in_off.data)
    audit(
        "school_sign_in_changed",
        admin.id,
        f"issuer={issuer} client_id={client_id} domains={school.sso_domains} "
        f"password_sign_in_off={school.password_sign_in_off} secret_changed={bool(secret)}",
    )
    db().commit()
    flash("Your school's sign-in settings are saved.", "success")
    return redirect(url_for("sso.school_settings"), 303)


@bp.route("/school/sign-in/secret/remove", methods=["POST"])
@login_required
def remove_secret() -> ResponseReturnValue:
    admin = ownership.school_admin()
    school = admin.school
    school.sso_client_secret = None
    school.password_sign_in_off = False
    audit("school_sign_in_changed", admin.id, "secret removed; password sign-in on")
    db().commit()
    flash("The client secret is removed: single sign-on is off, and teachers sign in with passwords.", "success")
    return redirect(url_for("sso.school_settings"), 303)


def _domains_of_other_schools(school: School, domains: list[str]) -> str | None:
    for other in db().scalars(select(School).where(School.id != school.id, School.sso_domains.is_not(None))):
        for domain in provider.domains(other):
            if domain in domains:
                return domain
    return None
