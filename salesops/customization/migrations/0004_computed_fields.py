from django.db import migrations, models

OBJECT_TYPES = [('lead', 'Lead'), ('customer', 'Customer'), ('contact', 'Contact'), ('deal', 'Deal'), ('followup', 'Follow-up'), ('task', 'Task'), ('product', 'Product'), ('quote', 'Quote'), ('contract', 'Contract'), ('payment', 'Payment'), ('target', 'Target')]  # fmt: skip


class Migration(migrations.Migration):
    dependencies = [
        ("customization", "0003_layout"),
    ]

    operations = [
        migrations.AlterField(
            model_name="customfield",
            name="field_type",
            field=models.CharField(
                choices=[
                    ("text", "Text"),
                    ("long_text", "Long text"),
                    ("number", "Number"),
                    ("money", "Money"),
                    ("date", "Date"),
                    ("datetime", "Date and time"),
                    ("select", "Single select"),
                    ("multi_select", "Multiple select"),
                    ("user", "User"),
                    ("boolean", "Yes/no"),
                    ("url", "URL"),
                    ("email", "E-mail"),
                    ("phone", "Phone"),
                    ("formula", "Formula"),
                    ("rollup", "Roll-up"),
                ],
                max_length=20,
                verbose_name="type",
            ),
        ),
        migrations.AddField(
            model_name="customfield",
            name="expression",
            field=models.TextField(
                blank=True, default="",
                help_text="Computed from the record's fields, e.g. amount * probability / 100.",
                verbose_name="formula",
            ),
        ),
        migrations.AddField(
            model_name="customfield",
            name="result_type",
            field=models.CharField(
                blank=True, default="",
                choices=[
                    ("number", "Number"),
                    ("money", "Money"),
                    ("text", "Text"),
                    ("date", "Date"),
                    ("boolean", "Yes/no"),
                ],
                max_length=20,
                verbose_name="result type",
            ),
        ),
        migrations.AddField(
            model_name="customfield",
            name="rollup_object",
            field=models.CharField(
                blank=True, default="", choices=OBJECT_TYPES, max_length=20, verbose_name="records rolled up"
            ),
        ),
        migrations.AddField(
            model_name="customfield",
            name="rollup_link",
            field=models.CharField(
                blank=True, default="", max_length=50, verbose_name="their reference to this record"
            ),
        ),
        migrations.AddField(
            model_name="customfield",
            name="rollup_aggregate",
            field=models.CharField(
                blank=True, default="",
                choices=[("count", "Count"), ("sum", "Sum"), ("min", "Smallest"), ("max", "Largest")],
                max_length=10,
                verbose_name="calculation",
            ),
        ),
        migrations.AddField(
            model_name="customfield",
            name="rollup_field",
            field=models.CharField(blank=True, default="", max_length=50, verbose_name="field rolled up"),
        ),
        migrations.AddField(
            model_name="customfield",
            name="rollup_condition",
            field=models.TextField(
                blank=True, default="",
                help_text='Optional, e.g. status == "won" and currency in ("CNY", "USD").',
                verbose_name="only records where",
            ),
        ),
    ]
