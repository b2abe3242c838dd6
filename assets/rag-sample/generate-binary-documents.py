"""Writes the two binary documents of the RAG sample set, patient-handbook.docx and lab-services.pdf.

Run with python-docx and reportlab installed (e.g. in /root/.cache/tunesmith-venv):
    python assets/rag-sample/generate-binary-documents.py   # writes into documents/
The outputs are committed; this script records where they came from. Both are deterministic apart
from the timestamps the libraries embed, which the index does not read.
"""

from pathlib import Path

from docx import Document
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer

HERE = Path(__file__).resolve().parent / "documents"

HANDBOOK = [
    ("h", "New patient handbook"),
    ("p", "Welcome to Larkspur Community Clinic. This handbook explains how to register, what to bring to your first visit, and how to find us."),
    ("h", "Registering with the clinic"),
    ("p", "Anyone who lives in Larkspur or Millbrook can register. Fill in the registration form online or at reception. Registration is usually confirmed within five working days, after which you can book appointments."),
    ("h", "What to bring to your first visit"),
    ("p", "Please bring photo identification, your insurance card, a list of the medicines you take with their doses, and your vaccination record if you have one. Arrive 15 minutes early to complete a short health questionnaire."),
    ("h", "Parking and getting here"),
    ("p", "Free patient parking is available in the rear car park, entered from Birch Lane, for up to two hours. Two accessible parking bays are next to the main entrance. Buses 7 and 12 stop outside the library, a one-minute walk away."),
    ("h", "Bringing someone with you"),
    ("p", "You are welcome to bring a relative, friend or carer to any appointment. If you need an interpreter, tell us when you book and we will arrange one free of charge."),
    ("h", "Children and young people"),
    ("p", "Children under 16 should come with a parent or guardian. Young people aged 16 and over can see a doctor on their own and their visit is confidential."),
]

LAB_PAGE_1 = [
    ("h", "Laboratory services"),
    ("p", "Blood and urine samples are collected at the clinic by our practice nurse from Monday to Friday between 8:00 am and 11:30 am. No appointment is needed for collection; take a ticket at reception."),
    ("h", "Preparing for your test"),
    ("p", "For a cholesterol or fasting glucose test, do not eat or drink anything except water for 10 to 12 hours before the sample is taken. Take your usual medicines unless the doctor has told you otherwise. Drinking plenty of water before a blood test makes the sample easier to take."),
    ("p", "Urine samples should be from the first urine of the morning, in the sterile container given to you at reception."),
]

LAB_PAGE_2 = [
    ("h", "Getting your results"),
    ("p", "Most test results are ready within five working days and appear in the patient portal once a doctor has reviewed them. Some specialised tests are sent to a hospital laboratory and can take up to three weeks."),
    ("p", "If a result needs action, the clinic will contact you by phone; you do not need to call us for normal results."),
    ("h", "Tests we do not offer"),
    ("p", "The clinic does not offer X-rays or scans. The doctor will refer you to Millbrook Imaging for these."),
]


def write_docx(path: Path) -> None:
    doc = Document()
    for kind, text in HANDBOOK:
        if kind == "h":
            doc.add_heading(text, level=1)
        else:
            doc.add_paragraph(text)
    doc.core_properties.author = "Larkspur Community Clinic"
    doc.save(path)


def write_pdf(path: Path) -> None:
    styles = getSampleStyleSheet()
    story = []
    for page in (LAB_PAGE_1, LAB_PAGE_2):
        for kind, text in page:
            story.append(Paragraph(text, styles["Heading2" if kind == "h" else "BodyText"]))
            story.append(Spacer(1, 6))
        story.append(PageBreak())
    story.pop()
    SimpleDocTemplate(str(path), pagesize=A4, title="Laboratory services", invariant=1).build(story)


if __name__ == "__main__":
    write_docx(HERE / "patient-handbook.docx")
    write_pdf(HERE / "lab-services.pdf")
    print("wrote patient-handbook.docx and lab-services.pdf")
