"""Django's makemessages, also extracting `L("...")`: the pages' views alias
`gettext_lazy` as `L` for labels in column and filter tables, which xgettext does not
know by itself. The translation test and `scripts/i18n-zh.py extract` run this."""

from django.core.management.commands.makemessages import Command as MakeMessages


class Command(MakeMessages):
    xgettext_options = [*MakeMessages.xgettext_options, "--keyword=L"]
