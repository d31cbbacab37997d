"""Real test documents, written with the same libraries people's office tools produce files with."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

import docx
import openpyxl
from fpdf import FPDF
from pptx import Presentation
from pptx.util import Inches
from pypdf import PdfReader, PdfWriter

HEADER = "Comune di Castelvecchio - Guida ai servizi"
ANAGRAFE = (
    "L'ufficio anagrafe rilascia certificati di residenza, stato di famiglia e cittadinanza. "
    "I certificati sono esenti da bollo solo nei casi previsti dalla legge. "
    "La carta d'identità elettronica si richiede su appuntamento e viene spedita a casa in sei giorni."
)
STATO_CIVILE = (
    "L'ufficio di stato civile registra nascite, matrimoni, unioni civili e decessi. "
    "Le pubblicazioni di matrimonio restano affisse all'albo pretorio per otto giorni."
)
TRIBUTI = (
    "La tassa sui rifiuti si paga in due rate, a maggio e a novembre. "
    "Chi si trasferisce deve presentare la dichiarazione entro novanta giorni."
)


class _GuidePdf(FPDF):
    def header(self) -> None:
        self.set_font("Helvetica", size=9)
        self.cell(0, 8, HEADER, new_x="LMARGIN", new_y="NEXT")

    def footer(self) -> None:
        self.set_y(-15)
        self.set_font("Helvetica", size=9)
        self.cell(0, 8, f"Pagina {self.page_no()} di {{nb}}", align="C")

    def heading(self, text: str, size: float) -> None:
        self.set_font("Helvetica", "B", size)
        self.multi_cell(0, size * 0.6, text, new_x="LMARGIN", new_y="NEXT")
        self.ln(2)

    def paragraph(self, text: str) -> None:
        self.set_font("Helvetica", size=11)
        self.multi_cell(0, 6, text, new_x="LMARGIN", new_y="NEXT")
        self.ln(4)


def guide_pdf() -> bytes:
    """Three pages: running header, "Pagina N di M" footer, three heading levels, a list, a hyphenated
    line break and a paragraph cut by a page break."""
    pdf = _GuidePdf()
    pdf.alias_nb_pages()
    pdf.add_page()
    pdf.heading("Servizi demografici", 20)
    pdf.heading("Anagrafe", 15)
    pdf.paragraph(ANAGRAFE)
    pdf.paragraph(
        "Per ulteriori infor-\nmazioni rivolgersi allo sportello del piano terra, aperto il sabato."
    )
    pdf.heading("Orari", 13)
    pdf.paragraph("- Lunedì: dalle 9 alle 12\n- Mercoledì: dalle 15 alle 17")
    pdf.set_font("Helvetica", size=11)
    pdf.multi_cell(0, 6, "La richiesta di cambio di residenza va presentata all'ufficio", new_x="LMARGIN")
    pdf.add_page()
    pdf.paragraph("protocollo entro venti giorni dal trasferimento, con un documento d'identità.")
    pdf.heading("Stato civile", 15)
    pdf.paragraph(STATO_CIVILE)
    pdf.add_page()
    pdf.heading("Tributi", 20)
    pdf.paragraph(TRIBUTI)
    return bytes(pdf.output())


def encrypt_pdf(data: bytes, user_password: str, owner_password: str) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.encrypt(user_password=user_password, owner_password=owner_password)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def scanned_pdf() -> bytes:
    """A page with only a picture on it, as a scanner produces (no text layer)."""
    pdf = FPDF()
    pdf.add_page()
    pdf.set_fill_color(200, 200, 200)
    pdf.rect(20, 20, 150, 200, style="F")
    return bytes(pdf.output())


def guide_docx() -> bytes:
    document = docx.Document()
    document.core_properties.title = "Guida ai servizi"
    document.add_heading("Servizi", level=1)
    document.add_paragraph("Il Comune offre servizi ai cittadini, anche online.")
    document.add_heading("Anagrafe", level=2)
    document.add_paragraph("Certificati di residenza e stato di famiglia.")
    document.add_paragraph("Carta d'identità elettronica", style="List Bullet")
    document.add_paragraph("Cambio di residenza", style="List Bullet")
    document.add_paragraph("Entro venti giorni", style="List Bullet 2")
    document.add_heading("Orari", level=3)
    table = document.add_table(rows=3, cols=2)
    values_by_row = [("Giorno", "Orario"), ("Lunedì", "9-12"), ("Giovedì", "15-17")]
    for row, values in zip(table.rows, values_by_row, strict=True):
        for cell, value in zip(row.cells, values, strict=True):
            cell.text = value
    document.add_paragraph("Perché prenotare? Si evita la coda allo sportello.")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def tariffs_xlsx() -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Tariffe"
    sheet.append([])
    sheet.append(["Servizio", "Costo (€)", "Scadenza", None])
    sheet.append(["Mensa scolastica", 4.5, dt.date(2025, 9, 30)])
    midnight = dt.datetime(2025, 10, 1, 0, 0)  # noqa: DTZ001 - Excel dates are naive
    sheet.append(["Trasporto", 120, midnight])
    contacts = workbook.create_sheet("Contatti")
    contacts.append(["Ufficio", "Telefono"])
    contacts.append(["Anagrafe", "0577 123456"])
    workbook.create_sheet("Vuoto")
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def empty_xlsx() -> bytes:
    out = io.BytesIO()
    openpyxl.Workbook().save(out)
    return out.getvalue()


def recycling_pptx() -> bytes:
    deck = Presentation()
    first = deck.slides.add_slide(deck.slide_layouts[1])
    first.shapes.title.text = "Raccolta differenziata"
    body = first.placeholders[1].text_frame
    body.text = "Carta e cartone il lunedì"
    for text, level in (("Plastica il mercoledì", 0), ("Bottiglie e flaconi", 1)):
        paragraph = body.add_paragraph()
        paragraph.text = text
        paragraph.level = level
    first.notes_slide.notes_text_frame.text = "Ricordare il calendario estivo."
    second = deck.slides.add_slide(deck.slide_layouts[5])
    second.shapes.title.text = "Centri di raccolta"
    shape = second.shapes.add_table(3, 2, Inches(1), Inches(2), Inches(6), Inches(2))
    for row, values in zip(
        shape.table.rows, [("Centro", "Orario"), ("Via Roma", "8-12"), ("Zona Nord", "14-18")], strict=True
    ):
        for cell, value in zip(row.cells, values, strict=True):
            cell.text = value
    out = io.BytesIO()
    deck.save(out)
    return out.getvalue()


def zip_of(members: dict[str, bytes], *, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=compression) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return out.getvalue()


def with_encrypted_flag(data: bytes) -> bytes:
    """The archive with every member marked as encrypted (zipfile cannot write encrypted members)."""
    patched = bytearray(data)
    for signature, flag_offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = patched.find(signature)
        while start != -1:
            patched[start + flag_offset] |= 0x1
            start = patched.find(signature, start + 4)
    return bytes(patched)
