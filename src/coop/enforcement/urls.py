from django.urls import path

from coop.enforcement import views

urlpatterns = [
    path("deliveries", views.deliveries, name="deliveries"),
    path("deliveries/resend-dead", views.resend_dead, name="deliveries-resend-dead"),
    path("deliveries/<uuid:delivery_id>/resend", views.resend_delivery, name="delivery-resend"),
]
