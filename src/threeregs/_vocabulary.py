"""Controlled vocabularies of the filing model.

Every member's value is a stable ASCII code: it is what the canonical form and
the database store, so a value is never renamed once released. The labels that
prosecutors and inspectors read come from the gettext catalogs (see
:func:`threeregs.label`).
"""

from __future__ import annotations

import enum


class Provision(enum.StrEnum):
    """Provision of the Three Provisions that a record falls under."""

    #: Leading cadres interfering in judicial work or meddling in cases.
    P1 = "P1"
    #: Insiders of judicial organs asking about or interfering in cases.
    P2 = "P2"
    #: Contacts between judicial staff and parties, lawyers, special-relationship
    #: persons and intermediaries.
    P3 = "P3"


class Conduct(enum.StrEnum):
    """Conduct category of one record."""

    # P1 and P2: asking about or interfering in a case.
    INQUIRY = "inquiry"
    PLEADING = "pleading"
    ARRANGING_MEETING = "arranging_meeting"
    PLEADING_THROUGH_OTHERS = "pleading_through_others"
    PRESSING_VIEW = "pressing_view"
    PASSING_MATERIALS = "passing_materials"
    PROBING_OR_TIPPING_OFF = "probing_or_tipping_off"
    OTHER_INTERFERENCE = "other_interference"
    # P3: contact with parties, lawyers, special-relationship persons and
    # intermediaries.
    CONTACT = "contact"
    LEAKING_SECRETS = "leaking_secrets"
    RECOMMENDING_LAWYER = "recommending_lawyer"
    ACCEPTING_BENEFITS = "accepting_benefits"
    BORROWING = "borrowing"
    COLLUSION_IN_COMMISSION = "collusion_in_commission"
    OTHER_IMPROPER_CONTACT = "other_improper_contact"


class Bucket(enum.StrEnum):
    """Statistical bucket used in the published bulletins."""

    ROUTINE_INQUIRY = "routine_inquiry"
    IMPROPER_INTERFERENCE = "improper_interference"
    OFF_HOURS_CONTACT = "off_hours_contact"


class IntervenerRole(enum.StrEnum):
    """Role of the intervener relative to the case."""

    LEADING_CADRE = "leading_cadre"
    INTERNAL_PERSONNEL = "internal_personnel"
    PARTY = "party"
    LAWYER = "lawyer"
    SPECIAL_RELATIONSHIP = "special_relationship"
    INTERMEDIARY = "intermediary"
    #: Acquaintances, relatives, classmates and comrades-in-arms.
    ACQUAINTANCE = "acquaintance"


class Manner(enum.StrEnum):
    """Manner in which the intervention or contact took place."""

    IN_PERSON = "in_person"
    PHONE = "phone"
    MESSAGE = "message"
    LETTER = "letter"
    THIRD_PARTY = "third_party"
    ORGANISATION_DOCUMENT = "organisation_document"


class StaffKind(enum.StrEnum):
    """Employment kind of the person who files."""

    PROSECUTOR = "prosecutor"
    ASSISTANT = "assistant"
    CLERK = "clerk"
    JUDICIAL_POLICE = "judicial_police"
    CONTRACT = "contract"
    SECONDED = "seconded"
    TRAINEE = "trainee"
    TEMPORARY = "temporary"


_INTERFERENCE = frozenset(
    {
        Conduct.INQUIRY,
        Conduct.PLEADING,
        Conduct.ARRANGING_MEETING,
        Conduct.PLEADING_THROUGH_OTHERS,
        Conduct.PRESSING_VIEW,
        Conduct.PASSING_MATERIALS,
        Conduct.PROBING_OR_TIPPING_OFF,
        Conduct.OTHER_INTERFERENCE,
    }
)

#: Conduct categories allowed under each provision.
CONDUCT_BY_PROVISION: dict[Provision, frozenset[Conduct]] = {
    Provision.P1: _INTERFERENCE,
    Provision.P2: _INTERFERENCE,
    Provision.P3: frozenset(Conduct) - _INTERFERENCE,
}

#: Statistical buckets a conduct category can be counted in. A routine inquiry
#: is only ever an inquiry; an ordinary contact is routine or, when it happened
#: outside working hours or premises, counted as such; everything else is
#: improper.
BUCKETS_BY_CONDUCT: dict[Conduct, frozenset[Bucket]] = {
    conduct: frozenset({Bucket.IMPROPER_INTERFERENCE}) for conduct in Conduct
}
BUCKETS_BY_CONDUCT[Conduct.INQUIRY] = frozenset({Bucket.ROUTINE_INQUIRY})
BUCKETS_BY_CONDUCT[Conduct.CONTACT] = frozenset({Bucket.ROUTINE_INQUIRY, Bucket.OFF_HOURS_CONTACT})
