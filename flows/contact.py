"""Contact details, asked and checked for the way the resident chose to be contacted.

A phone call or a text needs a phone number: parsed with phonenumbers (UK numbers by
default, international ones with their + or 00 prefix) and kept in a readable form ("07700
900123", "+48 512 345 678"). Email needs an address that is well formed (email-validator,
syntax only: nothing is looked up). A letter needs a postal address, taken as typed. A value
that does not fit gets a kind re-ask in the resident's language, never a silent guess.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from flows.answers import Invalid
from flows.types import Answers, Translator

PHONE_METHODS = frozenset({"phone", "sms"})
DEFAULT_REGION = "GB"
# The shortest national number accepted when the library does not know the range (new
# ranges, and the fictional numbers Ofcom sets aside for drama and tests).
_MIN_DIGITS = 9


def contact_prompt(t: Translator, a: Answers) -> str:
    """Ask only for what the chosen way of contacting needs."""
    method = a.get("contact_method")
    if method in PHONE_METHODS:
        return t.gettext("What phone number should we use?")
    if method == "email":
        return t.gettext("What email address should we use?")
    return t.gettext("What postal address should we write to?")


def check_contact(text: str, a: Answers) -> Any:
    """Return the contact details tidied for the chosen method, or why they do not fit."""
    method = a.get("contact_method")
    if method in PHONE_METHODS:
        number = readable_phone(text)
        return number if number is not None else NotContact("phone")
    if method == "email":
        try:
            return validate_email(text.strip(), check_deliverability=False).normalized
        except EmailNotValidError:
            return NotContact("email")
    return " ".join(text.split()) if len(text.strip()) >= 5 else NotContact("address")


def readable_phone(text: str) -> str | None:
    """Return a phone number in a readable form (national for UK numbers), or None."""
    try:
        number = phonenumbers.parse(text.strip(), DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        return None
    plausible = phonenumbers.is_possible_number_with_reason(number) \
        == phonenumbers.ValidationResult.IS_POSSIBLE \
        and len(phonenumbers.national_significant_number(number)) >= _MIN_DIGITS
    if not (phonenumbers.is_valid_number(number) or plausible):
        return None
    uk = number.country_code == phonenumbers.country_code_for_region(DEFAULT_REGION)
    style = phonenumbers.PhoneNumberFormat.NATIONAL if uk else \
        phonenumbers.PhoneNumberFormat.INTERNATIONAL
    return phonenumbers.format_number(number, style)


@dataclass(frozen=True)
class NotContact(Invalid):
    """Contact details that do not fit the chosen method; says so kindly."""

    def message(self, t: Translator) -> str:
        """Say what was expected, in the resident's language."""
        if self.reason == "phone":
            return t.gettext("Sorry, that does not look like a phone number. Please type it "
                             "with the area code, like 07700 900123, or with + and the "
                             "country code.")
        if self.reason == "email":
            return t.gettext("Sorry, that does not look like an email address. Please check "
                             "it, like name@example.com.")
        return t.gettext("Please type the full postal address, with the house number and "
                         "postcode.")
