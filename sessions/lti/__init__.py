"""LTI 1.3: Procto as a tool that LMSs (Moodle, Canvas…) launch, with pylti1p3 doing the OIDC
login and the id_token validation. docs/LTI.md says how to register Procto in an LMS."""
