from ninja import NinjaAPI

api = NinjaAPI(title="Coop platform API", version="1", urls_namespace="api")
