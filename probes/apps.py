from django.apps import AppConfig


class ProbesConfig(AppConfig):
    name = "probes"
    verbose_name = "Probes"

    def ready(self) -> None:
        from incidents.evidence import evidence_source_register

        from .selectors import components_evidence

        # The page reads how fresh its statuses are without importing the probes.
        evidence_source_register(components_evidence)
