"""Strings of Django and allauth whose Chinese we give ourselves.

Our catalogue (LOCALE_PATHS, locale/zh_Hans) wins over the packages' own, so an entry
there with their msgid replaces their translation. `make messages` keeps only the msgids
it finds in our source: they are listed here, exactly as the packages write them, and
this module is never imported. docs/languages.md says why each is here.
"""

from django.utils.translation import gettext_noop, ngettext_lazy, npgettext_lazy

# Django's durations (django.utils.timesince: the |timesince and |timeuntil filters).
# Its Chinese says "1 月" (January) for a month and "4 日" (the 4th) for four days;
# Chinese counts months with 个 (1 个月) and days with 天 (4 天).
TIMESINCE = (
    ngettext_lazy("%(num)d year", "%(num)d years", "num"),
    ngettext_lazy("%(num)d month", "%(num)d months", "num"),
    ngettext_lazy("%(num)d week", "%(num)d weeks", "num"),
    ngettext_lazy("%(num)d day", "%(num)d days", "num"),
    ngettext_lazy("%(num)d hour", "%(num)d hours", "num"),
    ngettext_lazy("%(num)d minute", "%(num)d minutes", "num"),
)

# The same words in django.contrib.humanize's |naturaltime ("1 个月前", "4 天后").
NATURALTIME = (
    npgettext_lazy("naturaltime-past", "%(num)d year", "%(num)d years", "num"),
    npgettext_lazy("naturaltime-past", "%(num)d month", "%(num)d months", "num"),
    npgettext_lazy("naturaltime-past", "%(num)d week", "%(num)d weeks", "num"),
    npgettext_lazy("naturaltime-past", "%(num)d day", "%(num)d days", "num"),
    npgettext_lazy("naturaltime-past", "%(num)d hour", "%(num)d hours", "num"),
    npgettext_lazy("naturaltime-past", "%(num)d minute", "%(num)d minutes", "num"),
    npgettext_lazy("naturaltime-future", "%(num)d year", "%(num)d years", "num"),
    npgettext_lazy("naturaltime-future", "%(num)d month", "%(num)d months", "num"),
    npgettext_lazy("naturaltime-future", "%(num)d week", "%(num)d weeks", "num"),
    npgettext_lazy("naturaltime-future", "%(num)d day", "%(num)d days", "num"),
    npgettext_lazy("naturaltime-future", "%(num)d hour", "%(num)d hours", "num"),
    npgettext_lazy("naturaltime-future", "%(num)d minute", "%(num)d minutes", "num"),
)

# Django admin's index: column headings read by screen readers, missing from Django's
# Chinese catalogue.
ADMIN = (
    gettext_noop("Model name"),
    gettext_noop("Add link"),
    gettext_noop("Change or view list link"),
)

# allauth's heading for a password-reset link that no longer works ("不正确的 token").
ALLAUTH = (gettext_noop("Bad Token"),)
