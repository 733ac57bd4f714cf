from django.urls import path

from coop.sso import views

urlpatterns = [
    path("settings/sso", views.settings_page, name="settings-sso"),
    path("sso/saml/login", views.saml_login, name="sso-saml-login"),
    path("sso/saml/acs", views.saml_acs, name="sso-saml-acs"),
    path("sso/saml/complete", views.saml_complete, name="sso-saml-complete"),
    path("sso/saml/metadata", views.saml_metadata, name="sso-saml-metadata"),
    path("sso/oidc/login", views.oidc_login, name="sso-oidc-login"),
    path("sso/oidc/callback", views.oidc_callback, name="sso-oidc-callback"),
]
