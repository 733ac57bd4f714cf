"""Template filters of the NCMEC Reports pages."""

from django import template

from coop.childsafety.report_pages import pretty_xml

register = template.Library()
register.filter("ncmec_pretty_xml", pretty_xml)
