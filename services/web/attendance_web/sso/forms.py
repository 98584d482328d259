from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, Field, PasswordField, StringField, URLField
from wtforms.form import BaseForm
from wtforms.validators import URL, DataRequired, Email, Length, Optional, ValidationError

from ..extensions import settings


def public_https_issuer(form: BaseForm, field: Field) -> None:
    """In production the server fetches the issuer's discovery document: it must be https, on an address of the
    internet, never the instance's own network (the metadata service at 169.254.169.254, a private VPC host)."""
    if not field.data or not settings().is_production:
        return
    parts = urlsplit(field.data)
    if parts.scheme != "https" or not parts.hostname:
        raise ValidationError("The issuer URL must start with https://.")
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(parts.hostname, parts.port or 443)}
    except OSError:
        raise ValidationError(f"{parts.hostname} cannot be found: check the issuer URL.") from None
    for address in addresses:
        ip = ipaddress.ip_address(str(address).split("%")[0])
        if not ip.is_global:
            raise ValidationError(f"{parts.hostname} is not a public address; the issuer must be on the internet.")


class SchoolEmailForm(FlaskForm):
    """The login page's second form: the address picks the school (by its domain), then its provider."""

    school_email = EmailField(
        "School email",
        validators=[DataRequired("Enter your school email."), Email(check_deliverability=False), Length(max=254)],
    )


class SsoSettingsForm(FlaskForm):
    issuer = URLField(
        "Issuer URL",
        validators=[
            Optional(),
            URL(require_tld=False, message="Enter the provider's issuer URL."),
            Length(max=300),
            public_https_issuer,
        ],
    )
    client_id = StringField("Client ID", validators=[Optional(), Length(max=300)])
    client_secret = PasswordField("Client secret", validators=[Optional(), Length(max=2000)])
    domains = StringField("Allowed e-mail domains (separated by spaces or commas)", validators=[Length(max=1000)])
    password_sign_in_off = BooleanField(
        "Password sign-in off: this school's teachers sign in only with the school account"
    )
