"""The equality monitoring questions: the Equality Act 2010 protected characteristics, plus
groups the programmes care about. Every question is optional and offers "Prefer not to say".

Option keys are stored (inside encrypted JSON) and never change once people have answered;
labels may be reworded.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

PREFER_NOT_TO_SAY = "prefer_not_to_say"
NOT_ANSWERED = "not_answered"

YES_NO = (("yes", _l("Yes")), ("no", _l("No")))


@dataclass(frozen=True)
class EqualityQuestion:
    key: str
    text: str
    options: tuple[tuple[str, str], ...]
    hint: str = ""

    def choices(self) -> list[tuple[str, str]]:
        return [*self.options, (PREFER_NOT_TO_SAY, _l("Prefer not to say"))]

    def label_for(self, key: str) -> str:
        if key == NOT_ANSWERED:
            return str(_l("Not answered"))
        return str(dict(self.choices()).get(key, key))

    def report_keys(self) -> list[str]:
        """Every answer a report counts, in order, including not answering at all."""
        return [k for k, _label in self.choices()] + [NOT_ANSWERED]


QUESTIONS: tuple[EqualityQuestion, ...] = (
    EqualityQuestion("age", _l("How old are you?"), (
        ("16_24", _l("16 to 24")), ("25_34", _l("25 to 34")), ("35_44", _l("35 to 44")),
        ("45_54", _l("45 to 54")), ("55_64", _l("55 to 64")), ("65_plus", _l("65 or over")))),
    EqualityQuestion("sex", _l("What is your sex?"), (
        ("female", _l("Female")), ("male", _l("Male")))),
    EqualityQuestion("gender_identity_same", _l(
        "Is the gender you identify with the same as your sex registered at birth?"), YES_NO),
    EqualityQuestion("sexual_orientation", _l("Which of these best describes your sexual "
                                              "orientation?"), (
        ("straight", _l("Straight or heterosexual")), ("gay_lesbian", _l("Gay or lesbian")),
        ("bisexual", _l("Bisexual")), ("other", _l("Another sexual orientation")))),
    EqualityQuestion("disability", _l("Do you consider yourself to be disabled?"), YES_NO,
                     _l("The Equality Act counts a physical or mental condition that has a "
                        "substantial, long-term effect on day-to-day life.")),
    EqualityQuestion("ethnicity", _l("What is your ethnic group?"), (
        ("asian", _l("Asian or Asian British")),
        ("black", _l("Black, Black British, Caribbean or African")),
        ("mixed", _l("Mixed or multiple ethnic groups")),
        ("white", _l("White")),
        ("other", _l("Another ethnic group")))),
    EqualityQuestion("religion", _l("What is your religion or belief?"), (
        ("none", _l("No religion")), ("buddhist", _l("Buddhist")),
        ("christian", _l("Christian")), ("hindu", _l("Hindu")), ("jewish", _l("Jewish")),
        ("muslim", _l("Muslim")), ("sikh", _l("Sikh")), ("other", _l("Another religion or "
                                                                        "belief")))),
    EqualityQuestion("marriage", _l("Are you married or in a civil partnership?"), YES_NO),
    EqualityQuestion("pregnancy", _l("Are you pregnant, or have you had a baby in the last "
                                     "26 weeks?"), YES_NO),
    EqualityQuestion("first_language", _l("Is English your first language?"), YES_NO),
    EqualityQuestion("refugee_asylum", _l("Are you a refugee or seeking asylum?"), YES_NO),
    EqualityQuestion("armed_forces", _l("Have you served in the armed forces?"), YES_NO),
    EqualityQuestion("care_experience", _l("Have you been in care (care experienced)?"),
                     YES_NO, _l("For example foster care, a children's home or kinship care, "
                                "at any time as a child.")),
    EqualityQuestion("gypsy_roma_traveller", _l("Are you Gypsy, Roma or a Traveller?"), YES_NO),
    EqualityQuestion("learning_disability_autism", _l(
        "Do you have a learning disability, or are you autistic?"), YES_NO),
)

BY_KEY = {q.key: q for q in QUESTIONS}
