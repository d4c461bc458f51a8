"""The split policy form on a group's revenue page.

The form only carries what the coordinator typed; groups.revenue.set_policy
decides what is valid, as it does for the JSON API.
"""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectChoice, StringField

METHOD_CHOICES = [
    SelectChoice("contribution", _l("By contribution: each sale goes to the members whose goods were sold")),
    SelectChoice("equal", _l("Equally: sales go to the group pool, shared equally among active members at "
                             "settlement")),
    SelectChoice("work", _l("By work: sales go to the group pool, shared by logged work (pieces, hours) at "
                            "settlement")),
]


class SplitPolicyForm(FlaskForm):
    method = RadioField(_l("How sales are shared"), choices=METHOD_CHOICES, default="contribution",
                        validate_choice=False)
    group_fund_percent = StringField(_l("Group fund (kas kelompok): percent of each sale, 0 to 100"))
