"""The web forms of sign-in, tokens and administration (Flask-WTF: each carries its CSRF token)."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm as _FlaskForm
from flask_wtf.csrf import _FlaskFormCSRF
from wtforms import (
    BooleanField,
    EmailField,
    IntegerField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    widgets,
)
from wtforms.validators import DataRequired, EqualTo, Length, NumberRange, Optional

from catalogue.auth.models import ROLES, SCOPES

# Plain strings: WTForms 3.3 deprecates (value, label) pairs, though its type hints still name only those.
_ROLE_CHOICES: list[Any] = list(ROLES)
_SCOPE_CHOICES: list[Any] = list(SCOPES)


class _FormCSRF(_FlaskFormCSRF):
    """Flask-WTF's form CSRF, with a visitor's token in the form only (see catalogue.auth.form_token)."""

    def generate_csrf_token(self, csrf_token_field: Any) -> str:
        from catalogue.auth import form_token

        return form_token()


class FlaskForm(_FlaskForm):
    """Flask-WTF's form whose CSRF token sets no session cookie for a visitor who has not signed in."""

    class Meta:
        csrf_class = _FormCSRF


class CheckboxesField(SelectMultipleField):
    """Several choices as a list of checkboxes (one labelled box per choice)."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class SignInForm(FlaskForm):
    """E-mail and password."""

    email = EmailField("E-mail address", validators=[DataRequired(), Length(max=320)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])


class TokenForm(FlaskForm):
    """A new API token: a name to recognise it by and its lifetime."""

    name = StringField("Name", validators=[Optional(), Length(max=100)], description="e.g. CI of our repository")
    days = IntegerField("Valid for (days)", default=90, validators=[DataRequired(), NumberRange(1, 730)])
    scopes = CheckboxesField(
        "What it may do",
        choices=_SCOPE_CHOICES,
        validators=[DataRequired(message="Choose at least one.")],
        description="read: see what you see; submit: send descriptors; review: review services; admin: manage users",
    )


class PasswordForm(FlaskForm):
    """Change one's own password."""

    current = PasswordField("Current password", validators=[DataRequired()])
    new = PasswordField("New password", validators=[DataRequired(), Length(min=12, max=1024)])


class UserForm(FlaskForm):
    """A new user (admins)."""

    email = EmailField("E-mail address", validators=[DataRequired(), Length(max=320)])
    display_name = StringField("Display name", validators=[Optional(), Length(max=200)])
    organisation = StringField("Organisation code", validators=[DataRequired(), Length(max=32)])
    role = SelectField("Role", choices=_ROLE_CHOICES)
    password = PasswordField("Initial password", validators=[DataRequired(), Length(min=12, max=1024)])


class UserUpdateForm(FlaskForm):
    """Change a user's role or switch the account off (admins)."""

    role = SelectField("Role", choices=_ROLE_CHOICES)
    active = BooleanField("Active")


class OrganisationForm(FlaskForm):
    """A new organisation (admins)."""

    code = StringField("Code", validators=[DataRequired(), Length(max=32)], description="e.g. ISTAT")
    name = StringField("Name", validators=[DataRequired(), Length(max=300)])
    country = StringField("Country (ISO 3166 alpha-2 or -3)", validators=[Optional(), Length(min=2, max=3)])


class InviteForm(FlaskForm):
    """Invite a person by e-mail (admins): they choose their own password through the link."""

    email = EmailField("E-mail address", validators=[DataRequired(), Length(max=320)])
    display_name = StringField("Display name", validators=[Optional(), Length(max=200)])
    organisation = StringField("Organisation code", validators=[DataRequired(), Length(max=32)])
    role = SelectField("Role", choices=_ROLE_CHOICES)


class ForgotPasswordForm(FlaskForm):
    """Ask for a link to choose a new password."""

    email = EmailField("E-mail address", validators=[DataRequired(), Length(max=320)])


class NewPasswordForm(FlaskForm):
    """Choose a password through an invitation or reset link."""

    new = PasswordField(
        "New password",
        validators=[DataRequired(), Length(min=12, max=1024, message="Use 12 to 1,024 characters.")],
        description="At least 12 characters.",
    )
    again = PasswordField(
        "The same password again",
        validators=[DataRequired(), EqualTo("new", message="The two passwords are not the same.")],
    )
