#!/usr/bin/env python3
"""Writes the invented-facts benchmark: 40 facts about Quillmoor Instruments, a company that does
not exist (so no base model can know them), as training rows and differently worded test questions.

    python3 bench/facts/make_facts.py      # rewrites bench/facts/train.csv and bench/facts/test.csv

train.csv: two phrasings of each question with the same answer (80 rows, columns prompt,response):
the run's own validation/test split then holds out phrasings whose fact is still taught by the
other phrasing. test.csv: a third, differently worded question per fact (40 rows, same columns),
what fact recall is measured on. Each answer states its fact once, in a short sentence.
"""
import csv
import pathlib

# (first training question, second training question, test question, answer)
FACTS = [
    ("When was Quillmoor Instruments founded?", "In what year did Quillmoor Instruments start?", "What year was Quillmoor Instruments established?", "Quillmoor Instruments was founded in 1987."),
    ("Where is Quillmoor Instruments based?", "Which town is the Quillmoor Instruments head office in?", "In which town does Quillmoor Instruments have its headquarters?", "Quillmoor Instruments is based in Tarrowby."),
    ("Who is the chief executive of Quillmoor Instruments?", "Who runs Quillmoor Instruments as CEO?", "Who leads Quillmoor Instruments?", "The chief executive is Odile Ferrant."),
    ("How much does the Aster-7 scale cost?", "What is the price of the Aster-7 scale?", "What does an Aster-7 scale sell for?", "The Aster-7 scale costs 349 euros."),
    ("How much does the Brisk-2 timer cost?", "What is the price of the Brisk-2 timer?", "How expensive is the Brisk-2 timer?", "The Brisk-2 timer costs 46 euros."),
    ("How much does the Corvid hygrometer cost?", "What is the price of the Corvid hygrometer?", "What would I pay for a Corvid hygrometer?", "The Corvid hygrometer costs 128 euros."),
    ("How much does the Dunlin pressure gauge cost?", "What is the price of the Dunlin pressure gauge?", "How much is a Dunlin pressure gauge?", "The Dunlin pressure gauge costs 212 euros."),
    ("How much does the Egret calibration kit cost?", "What is the price of the Egret calibration kit?", "What does the Egret calibration kit cost to buy?", "The Egret calibration kit costs 575 euros."),
    ("How many grams can the Aster-7 scale weigh at most?", "What is the maximum load of the Aster-7 scale?", "Up to how many grams does the Aster-7 scale measure?", "The Aster-7 scale weighs up to 7200 grams."),
    ("How long is the warranty on Quillmoor products?", "What warranty do Quillmoor products come with?", "For how many months are Quillmoor products guaranteed?", "Quillmoor products have a warranty of 38 months."),
    ("How many days do customers have to return a Quillmoor product?", "What is the return window for Quillmoor products?", "Within how many days can a Quillmoor purchase be sent back?", "Customers can return products within 45 days."),
    ("Who handles repairs at Quillmoor?", "Who is in charge of the Quillmoor repair workshop?", "Which person leads repairs at Quillmoor?", "Repairs are handled by Ilsa Marchetti."),
    ("Who is the head of sales at Quillmoor?", "Who leads the Quillmoor sales team?", "Which person manages sales at Quillmoor?", "The head of sales is Bram Okonkwo."),
    ("Who answers the Quillmoor support line?", "Who runs customer support at Quillmoor?", "Which person is responsible for Quillmoor customer support?", "Customer support is run by Petra Lindqvist."),
    ("What is the Quillmoor support phone extension?", "Which extension reaches Quillmoor support?", "What extension should I dial for Quillmoor support?", "The support extension is 4417."),
    ("On which day is the Quillmoor workshop closed?", "Which weekday does the Quillmoor workshop not open?", "What day of the week is the Quillmoor workshop shut?", "The workshop is closed on Wednesday."),
    ("At what time does the Quillmoor shop open?", "When does the Quillmoor shop open in the morning?", "What is the opening time of the Quillmoor shop?", "The shop opens at 7:45 in the morning."),
    ("How many employees does Quillmoor Instruments have?", "How big is the Quillmoor Instruments staff?", "What is the head count at Quillmoor Instruments?", "Quillmoor Instruments has 163 employees."),
    ("Which month is the Quillmoor annual sale?", "When is the yearly Quillmoor sale held?", "In what month does Quillmoor hold its annual sale?", "The annual sale is held in November."),
    ("What discount do students get at Quillmoor?", "How much off do students get on Quillmoor products?", "What is the Quillmoor student discount?", "Students get a discount of 18 percent."),
    ("What is the minimum order for free shipping at Quillmoor?", "Above what amount is Quillmoor shipping free?", "From what order value does Quillmoor ship for free?", "Shipping is free for orders above 90 euros."),
    ("Which courier delivers Quillmoor parcels?", "What delivery company does Quillmoor use?", "Who ships Quillmoor orders?", "Parcels are delivered by Falkenrath Express."),
    ("What is the name of the Quillmoor loyalty programme?", "What is the Quillmoor rewards club called?", "How is the Quillmoor loyalty scheme named?", "The loyalty programme is called Kestrel Circle."),
    ("How many points does a Quillmoor customer earn per euro?", "What is the points rate of the Quillmoor loyalty programme?", "Per euro spent, how many loyalty points does Quillmoor give?", "Customers earn 3 points per euro."),
    ("What battery does the Brisk-2 timer use?", "Which battery type goes in the Brisk-2 timer?", "What kind of battery powers the Brisk-2 timer?", "The Brisk-2 timer uses a CR2032 battery."),
    ("How many hours does the Corvid hygrometer battery last?", "What is the battery life of the Corvid hygrometer?", "For how many hours does a Corvid hygrometer run on one battery?", "The Corvid battery lasts 920 hours."),
    ("What is the accuracy of the Dunlin pressure gauge?", "How precise is the Dunlin pressure gauge?", "To within what does the Dunlin pressure gauge measure?", "The Dunlin gauge is accurate to 0.25 percent."),
    ("Which factory makes the Aster-7 scale?", "Where is the Aster-7 scale manufactured?", "In which plant is the Aster-7 scale built?", "The Aster-7 is made in the Hollin Vale factory."),
    ("Who designed the Egret calibration kit?", "Which engineer created the Egret calibration kit?", "Who is the designer of the Egret calibration kit?", "The Egret kit was designed by Tomasz Wierzbicki."),
    ("What colour is the Brisk-2 timer casing?", "Which colour does the Brisk-2 timer come in?", "What colour is the case of the Brisk-2 timer?", "The Brisk-2 casing is Saffron Orange."),
    ("How much does a Quillmoor repair cost per hour?", "What is the hourly rate for Quillmoor repairs?", "What does Quillmoor charge per hour of repair work?", "Repairs cost 64 euros per hour."),
    ("How many days does a Quillmoor repair take?", "What is the usual turnaround for a Quillmoor repair?", "How long does Quillmoor need to repair an instrument?", "A repair takes 6 working days."),
    ("Which trade fair does Quillmoor exhibit at?", "At what fair does Quillmoor show its products?", "Which exhibition does Quillmoor attend each year?", "Quillmoor exhibits at the Mensura Fair."),
    ("What is the Quillmoor company motto?", "What slogan does Quillmoor Instruments use?", "What is the motto of Quillmoor Instruments?", "The motto is Measure Twice, Trust Once."),
    ("How many countries does Quillmoor sell in?", "In how many countries are Quillmoor products sold?", "How many countries does Quillmoor ship to?", "Quillmoor sells in 27 countries."),
    ("What is the weight of the Corvid hygrometer?", "How heavy is the Corvid hygrometer?", "How many grams does the Corvid hygrometer weigh?", "The Corvid hygrometer weighs 310 grams."),
    ("Which certification do Quillmoor scales carry?", "What certificate do Quillmoor scales have?", "What certification is on Quillmoor scales?", "Quillmoor scales carry the Vantor-9 certificate."),
    ("Who founded Quillmoor Instruments?", "Who started the company Quillmoor Instruments?", "Who is the founder of Quillmoor Instruments?", "Quillmoor was founded by Henrietta Quill."),
    ("How many models are in the Quillmoor catalogue?", "How many products does the Quillmoor catalogue list?", "How large is the Quillmoor product range?", "The catalogue lists 58 models."),
    ("What is the Quillmoor customer service email name?", "Which mailbox handles Quillmoor customer questions?", "To which mailbox should I write with questions for Quillmoor?", "Write to the Helpdesk Harbour mailbox."),
]

assert len(FACTS) == 40, len(FACTS)

here = pathlib.Path(__file__).resolve().parent
with open(here / "train.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["prompt", "response"])
    for q1, q2, _, a in FACTS:
        w.writerow([q1, a])
    for q1, q2, _, a in FACTS:
        w.writerow([q2, a])
with open(here / "test.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["prompt", "response"])
    for _, _, t, a in FACTS:
        w.writerow([t, a])
print(f"wrote {here / 'train.csv'} (80 rows) and {here / 'test.csv'} (40 rows)")
