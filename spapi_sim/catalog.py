"""The seeded product catalogue and local prices, names and places per marketplace.

Titles come in the marketplace's language where one is given (so EU documents carry accents and
JP documents need Shift_JIS); prices derive from a USD list price and end in .99 (or whole yen).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from spapi_sim.marketplaces import Marketplace


@dataclass(frozen=True, slots=True)
class Product:
    """A sellable product; `titles` maps a language code to the listing title."""

    sku: str
    asin: str
    fnsku: str
    usd_price: Decimal
    titles: dict[str, str]

    def title(self, language: str) -> str:
        """The title in `language`, English when there is none."""
        return self.titles.get(language, self.titles["en"])


def _product(sku: str, asin: str, price: str, **titles: str) -> Product:
    return Product(sku, asin, "X00" + asin[3:], Decimal(price), titles)


PRODUCTS: tuple[Product, ...] = (
    _product("AC-KETTLE-17", "B0ACKET017", "39.99", en="Stainless Kettle 1.7 L",
             de="Edelstahl-Wasserkocher 1,7 l", fr="Bouilloire inox 1,7 L",
             ja="ステンレス電気ケトル 1.7L"),
    _product("AC-GRINDER-01", "B0ACGRD001", "54.99", en="Burr Coffee Grinder",
             de="Kaffeemühle mit Kegelmahlwerk", fr="Moulin à café à meules",
             it="Macinacaffè a macine", es="Molinillo de café de muelas", ja="コーヒーミル"),
    _product("AC-LAMP-DESK", "B0ACLMP100", "29.99", en="LED Desk Lamp, dimmable",
             de="LED-Schreibtischlampe, dimmbar", fr="Lampe de bureau LED à intensité variable"),
    _product("AC-HEADSET-BT", "B0ACHBT200", "79.99", en="Wireless Headphones",
             de="Kabellose Kopfhörer", fr="Casque sans fil", ja="ワイヤレスヘッドホン"),
    _product("AC-BOTTLE-750", "B0ACBTL750", "19.99", en="Insulated Bottle 750 ml",
             es="Botella térmica 750 ml", it="Borraccia termica 750 ml"),
    _product("AC-PAN-28", "B0ACPAN028", "44.99", en="Non-stick Frying Pan 28 cm",
             de="Antihaft-Pfanne 28 cm", fr="Poêle antiadhésive 28 cm"),
    _product("AC-BACKPACK-25", "B0ACBPK025", "64.99", en="Hiking Backpack 25 L",
             de="Wanderrucksack 25 l", ja="ハイキングリュック 25L"),
    _product("AC-CHARGER-65W", "B0ACCHG065", "34.99", en="USB-C Charger 65 W",
             fr="Chargeur USB-C 65 W", es="Cargador USB-C 65 W"),
    _product("AC-TOWEL-SET", "B0ACTWL004", "24.99", en="Cotton Towel Set (4)",
             de="Baumwoll-Handtuchset (4)", it="Set asciugamani in cotone (4)"),
    _product("AC-SPEAKER-MINI", "B0ACSPK010", "49.99", en="Portable Speaker",
             de="Tragbarer Lautsprecher", fr="Enceinte portable", ja="ポータブルスピーカー"),
)

# Approximate list-price conversions; good enough for realistic-looking amounts.
_PRICE_FACTORS: dict[str, Decimal] = {
    "USD": Decimal("1"), "CAD": Decimal("1.35"), "EUR": Decimal("0.92"),
    "GBP": Decimal("0.79"), "JPY": Decimal("150"),
}
# Sales tax collected on top of the price (NA); EU, UK and JP prices include VAT/consumption tax.
SALES_TAX: dict[str, Decimal] = {"US": Decimal("0.08"), "CA": Decimal("0.13")}
SHIPPING: dict[str, Decimal] = {
    "USD": Decimal("5.99"), "CAD": Decimal("7.99"), "EUR": Decimal("4.99"),
    "GBP": Decimal("3.99"), "JPY": Decimal("500"),
}


def local_price(product: Product, currency: str) -> Decimal:
    """The product's price in `currency`: .99 endings, whole tens of yen."""
    raw = product.usd_price * _PRICE_FACTORS[currency]
    if currency == "JPY":
        return (raw / 10).quantize(Decimal(1), rounding=ROUND_HALF_UP) * 10
    return raw.quantize(Decimal(1), rounding=ROUND_HALF_UP) - Decimal("0.01")


_PEOPLE: dict[str, tuple[tuple[str, str, str, str, str], ...]] = {
    # country: (name, street, city, region, postal code)
    "US": (("Jordan Miller", "12 Elm St", "Springfield", "IL", "62701"),
           ("Avery Chen", "400 Pine Ave", "Portland", "OR", "97205")),
    "CA": (("Morgan Tremblay", "88 Rue Sherbrooke", "Montréal", "QC", "H2X 1X3"),
           ("Riley Singh", "15 King St W", "Toronto", "ON", "M5H 1A1")),
    "DE": (("Lena Müller", "Hauptstraße 5", "Köln", "NW", "50667"),
           ("Jonas Weiß", "Gartenweg 12", "München", "BY", "80331")),
    "FR": (("Camille Lefèvre", "3 rue de la Paix", "Lyon", "ARA", "69002"),
           ("Théo Dubois", "21 avenue Foch", "Paris", "IDF", "75116")),
    "IT": (("Giulia Rossi", "Via Roma 10", "Milano", "MI", "20121"),),
    "ES": (("Lucía García", "Calle Mayor 7", "Madrid", "M", "28013"),),
    "GB": (("Oliver Smith", "45 Oak Avenue", "London", "England", "SW1A 1AA"),),
    "JP": (("山田 花子", "千代田1-1", "千代田区", "東京都", "100-0001"),
           ("佐藤 太郎", "梅田2-4", "大阪市", "大阪府", "530-0001")),
}


def people(marketplace: Marketplace) -> tuple[tuple[str, str, str, str, str], ...]:
    """Synthetic buyers for a marketplace's country."""
    return _PEOPLE[marketplace.country_code]


ORDER_ID_PREFIXES: dict[str, tuple[str, ...]] = {
    "US": ("111", "112", "113", "114"), "CA": ("701", "702"), "DE": ("302", "303", "304"),
    "FR": ("402", "403"), "IT": ("404", "405"), "ES": ("406", "408"), "UK": ("202", "203", "206"),
    "JP": ("249", "250", "503"),
}
FULFILMENT_CENTERS: dict[str, tuple[str, ...]] = {
    "US": ("PHX7", "BFI4", "ONT8"), "CA": ("YYZ4", "YVR2"), "DE": ("LEJ1", "FRA3", "DTM2"),
    "FR": ("ORY1", "LYS1"), "IT": ("MXP5", "FCO1"), "ES": ("MAD4", "BCN1"), "UK": ("LTN1", "EDI4"),
    "JP": ("NRT2", "KIX1"),
}
MFN_RETURN_REASONS = ("UNWANTED_ITEM", "DEFECTIVE", "NOT_AS_DESCRIBED", "DAMAGED_BY_CARRIER",
                      "ORDERED_WRONG_ITEM", "BETTER_PRICE_AVAILABLE", "MISSING_PARTS")
FBA_RETURN_REASONS = ("UNWANTED_ITEM", "DEFECTIVE", "NOT_AS_DESCRIBED", "SWITCHEROO",
                      "APPAREL_TOO_SMALL", "QUALITY_UNACCEPTABLE")
FBA_DISPOSITIONS = ("SELLABLE", "SELLABLE", "CUSTOMER_DAMAGED", "DEFECTIVE", "CARRIER_DAMAGED")
CUSTOMER_COMMENTS = ("", "", "Stopped working after a week", "Not what I expected",
                     "Arrived scratched", "Ordered by mistake")
