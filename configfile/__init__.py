"""Configuration as code: the pages, components, probes and templates in one YAML file.

``apply.apply_file`` brings the database in line with a file through the same services
as the console; ``export.export`` writes the database as such a file. See the README's
"Configuration as code" for the format.
"""
