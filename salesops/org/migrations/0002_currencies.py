from django.db import migrations

CURRENCIES = [
    ("CNY", "人民币 Chinese yuan", "¥"),
    ("USD", "US dollar", "$"),
    ("EUR", "Euro", "€"),
    ("HKD", "Hong Kong dollar", "HK$"),
    ("JPY", "Japanese yen", "¥"),
    ("GBP", "Pound sterling", "£"),
    ("SGD", "Singapore dollar", "S$"),
]


def add(apps, schema_editor):
    Currency = apps.get_model("org", "Currency")
    for code, name, symbol in CURRENCIES:
        Currency.objects.get_or_create(code=code, defaults={"name": name, "symbol": symbol})


def remove(apps, schema_editor):
    pass


class Migration(migrations.Migration):
    dependencies = [("org", "0001_initial")]
    operations = [migrations.RunPython(add, remove)]
