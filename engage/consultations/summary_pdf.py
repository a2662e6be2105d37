"""A PDF summary of a consultation's results, for staff to share (alongside the CSV).

It follows the rules of the published results page, so it is safe to pass on: every count under
5 reads "fewer than 5" (with a second count "not shown" where one alone would give a small one
away), average places only for options ranked by 5 people or more, and only the written answers
their authors said may be quoted publicly, credited the way they chose. Nothing in it names
anyone else. Text is set in DejaVu Sans (shipped in engage/fonts), so names and answers in any
European script print as typed.
"""

from __future__ import annotations

from pathlib import Path

from flask_babel import gettext as _
from fpdf import FPDF
from fpdf.fonts import FontFace

from engage.consultations.models import Consultation, QuestionKind
from engage.consultations.services import (
    QuestionResult,
    can_manage,
    credit_line,
    entered_by_staff,
    entered_by_staff_line,
    response_count,
    results,
)
from engage.consultations.tallies import OptionCount, fewer_than_five
from engage.core import audit, clock
from engage.errors import NotFound

FONTS = Path(__file__).resolve().parent.parent / "fonts"
FONT = "DejaVu"
HEADINGS = FontFace(emphasis="BOLD", fill_color=(232, 237, 238))


class _SummaryPDF(FPDF):
    def footer(self) -> None:
        self.set_y(-15)
        self.set_font(FONT, size=8)
        self.cell(0, 10, _("Page %(n)s of %(total)s", n=self.page_no(), total="{nb}"),
                  align="C")


def _document(title: str) -> _SummaryPDF:
    pdf = _SummaryPDF(format="A4")
    pdf.add_font(FONT, "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font(FONT, "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    pdf.set_title(title)
    pdf.set_creator("Engage")
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.add_page()
    return pdf


def _text(pdf: FPDF, text: str, *, size: int = 11, bold: bool = False, gap: float = 2) -> None:
    pdf.set_font(FONT, "B" if bold else "", size)
    pdf.multi_cell(0, size * 0.5, text, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(gap)


def _table(pdf: FPDF, header: tuple[str, str], rows: list[tuple[str, str]]) -> None:
    pdf.set_font(FONT, size=10)
    with pdf.table(col_widths=(120, 50), text_align=("LEFT", "RIGHT"),
                   headings_style=HEADINGS, line_height=6) as table:
        for cells in (header, *rows):
            row = table.row()
            for cell in cells:
                row.cell(cell)
    pdf.ln(3)


def _counts(options: list[OptionCount]) -> list[tuple[str, str]]:
    return [(o.label, o.published) for o in options]


def _question(pdf: FPDF, result: QuestionResult) -> None:
    question = result.question
    _text(pdf, f"{question.part.title}: {question.text}", size=12, bold=True)
    if question.kind == QuestionKind.FREE_TEXT:
        _text(pdf, _("Written answers: %(n)s.", n=fewer_than_five(result.answered)), size=10)
        if not result.texts:
            _text(pdf, _("No answers to this question can be quoted publicly."), size=10)
        for row in result.texts:
            credit = credit_line(row)
            _text(pdf, f"“{row.values.text}”" + (f" ({credit})" if credit else ""), size=10)
        return
    if result.rows:
        for statement in result.rows:
            _text(pdf, statement.label, size=10, bold=True, gap=1)
            _table(pdf, (_("Answer"), _("Number of people")), _counts(statement.options))
        return
    if not result.options:
        _text(pdf, _("No answers to this question yet."), size=10)
        return
    if result.ranking:
        _table(pdf, (_("Option"), _("Average place (1 is first)")),
               [(r.label, r.average_text(True)) for r in result.ranking])
        _table(pdf, (_("Ranked first"), _("Number of people")), _counts(result.options))
        return
    _table(pdf, (_("Answer"), _("Number of people")), _counts(result.options))


def export_summary(actor, consultation: Consultation) -> bytes:
    """The summary for someone who manages the consultation; the download is audited."""
    if not can_manage(actor, consultation):
        raise NotFound()
    body = summary_pdf(consultation)
    audit.record("consultation.summary_exported", actor_id=actor.id,
                 subject_type="consultation", subject_id=consultation.id)
    return body


def summary_pdf(consultation: Consultation) -> bytes:
    """The summary as PDF bytes."""
    title = _("Results: %(title)s", title=consultation.title)
    pdf = _document(title)
    _text(pdf, title, size=16, bold=True)
    if consultation.panel:
        _text(pdf, consultation.panel.name, size=11)
    _text(pdf, _("Open from %(opens)s to %(closes)s (UK time).",
                 opens=clock.to_london(consultation.opens_at).strftime("%-d %B %Y"),
                 closes=clock.to_london(consultation.closes_at).strftime("%-d %B %Y")))
    _text(pdf, _("Number of responses: %(n)s.", n=fewer_than_five(response_count(consultation))))
    staff_line = entered_by_staff_line(entered_by_staff(consultation), published=True)
    if staff_line:
        _text(pdf, staff_line)
    _text(pdf, _("To protect people's privacy, any number under 5 is shown as \"fewer than 5\", "
                 "and sometimes a second number is \"not shown\" so that a small number cannot "
                 "be worked out from the others. Only answers whose authors said we may quote "
                 "them publicly are quoted."), size=9, gap=4)
    for result in results(consultation, published=True):
        _question(pdf, result)
    _text(pdf, _("Made by Engage on %(day)s.", day=clock.to_london(clock.now())
                 .strftime("%-d %B %Y")), size=8)
    return bytes(pdf.output())
