"""The records domain's words: its audit actions, the fields of a person and a dose, and
the codes they hold (status, sex, birth date precision, ID kind). Gathered by core.labels."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from portal.records.models import BirthPrecision, IdKind, PersonStatus, Sex

ACTIONS = {
    "person.create": _l("Record created"),
    "person.update": _l("Record changed"),
    "person.correct": _l("Record corrected"),
    # An Excel import created the record (the record's history, from the import's event).
    "person.imported": _l("Record created by an Excel import"),
    "dose.create": _l("Dose recorded"),
    "records.bulk_create": _l("Records created in bulk"),
    "records.export": _l("Records exported"),
}

ENTITIES = {
    "person": _l("Record"),
    "person_list": _l("Records list"),
}

FIELDS = {
    "full_name": _l("Full name"),
    "sex": _l("Sex"),
    "birth_date": _l("Date of birth"),
    "birth_precision": _l("Birth date precision"),
    "id_number": _l("ID number"),
    "id_kind": _l("ID kind"),
    "nationality": _l("Nationality"),
    "phone": _l("Phone"),
    "commune_id": _l("Commune / ward"),
    "address": _l("Address"),
    "match_outcome": _l("Register check"),
    "dose_number": _l("Dose number"),
    "vaccine": _l("Vaccine"),
    "lot": _l("Lot"),
    "vaccinated_on": _l("Vaccination date"),
    "site_id": _l("Vaccination site"),
    "identity_acknowledged": _l("Identity differences acknowledged"),
    "register_values": _l("Values taken from the register"),
    "doses": _l("Doses"),
}

STATUS_LABELS = {
    PersonStatus.UNVERIFIED: _l("Not yet verified"),
    PersonStatus.MISSING_ID: _l("No ID number"),
    PersonStatus.INVALID_ID: _l("Malformed ID number"),
    PersonStatus.MISMATCH: _l("Differs from the register"),
    PersonStatus.NOT_FOUND: _l("Not found in the register"),
    PersonStatus.MATCHED: _l("Matches the register"),
    PersonStatus.VERIFIED: _l("Verified by police"),
    PersonStatus.CONFIRMED: _l("Confirmed"),
    PersonStatus.NEEDS_RECONFIRMATION: _l("Needs re-confirmation"),
    PersonStatus.EXEMPT: _l("Exempt (foreign national)"),
}

# The status groups (records.models.STATUS_GROUPS) the list filters on: a dashboard figure
# that counts several statuses opens its records through one of these.
STATUS_GROUP_LABELS = {
    "cleaned": _l("Cleaned (all)"),
    "to_correct": _l("To correct (all)"),
    "confirmed_or_exempt": _l("Confirmed or exempt"),
}

SEX_LABELS = {Sex.MALE: _l("Male"), Sex.FEMALE: _l("Female")}

ID_KIND_LABELS = {
    IdKind.CCCD: _l("CCCD (12 digits)"),
    IdKind.CMND: _l("CMND (9 digits)"),
    IdKind.PASSPORT: _l("Passport"),
    IdKind.NONE: _l("No ID number"),
}

PRECISION_LABELS = {
    BirthPrecision.DAY: _l("day, month and year"),
    BirthPrecision.MONTH: _l("month and year only"),
    BirthPrecision.YEAR: _l("year only"),
}

# vaccine-prophylaxis (SNOMED CT), in Vietnamese for the certificate's "vaccine type".
TYPE_LABELS = {
    "1119349007": _l("SARS-CoV-2 mRNA vaccine"),
    "29061000087103": _l("COVID-19 non-replicating viral vector vaccine"),
    "1157024006": _l("Inactivated whole SARS-CoV-2 antigen vaccine"),
    "1162643001": _l("SARS-CoV-2 recombinant spike protein antigen vaccine"),
    "28531000087107": _l("COVID-19 vaccine"),
}

VALUES = {
    "status": STATUS_LABELS,
    # A match outcome has the value of the status it leads to.
    "match_outcome": STATUS_LABELS,
    "sex": SEX_LABELS,
    "birth_precision": PRECISION_LABELS,
    "id_kind": ID_KIND_LABELS,
}
