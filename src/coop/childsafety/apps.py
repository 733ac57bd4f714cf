from django.apps import AppConfig


class ChildSafetyConfig(AppConfig):
    name = "coop.childsafety"
    label = "childsafety"

    def ready(self) -> None:
        from coop.childsafety import builtin_actions
        from coop.childsafety.views.jobs import ncmec_job_page
        from coop.core.enums import JobKind
        from coop.review.job_pages import register_job_page

        builtin_actions.register()
        register_job_page(JobKind.NCMEC, ncmec_job_page)
