from django.urls import include, path

urlpatterns = [
    path("api/v1/", include("coop.api.urls")),
    path("", include("coop.enforcement.urls")),
    path("", include("coop.web.urls")),
    path("", include("coop.sso.urls")),
    path("", include("coop.review.urls")),
    path("", include("coop.childsafety.urls")),
]
