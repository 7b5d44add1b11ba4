# One image recipe for every service; docker-compose passes SERVICE, the service's folder under services/.
# Built from the repository root: docker build -f deploy/service.Dockerfile --build-arg SERVICE=AlarmEvaluator .
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
ARG SERVICE
# The SDK would report usage to Microsoft from the NAS while building: nothing leaves unasked.
ENV DOTNET_CLI_TELEMETRY_OPTOUT=1
WORKDIR /src
COPY global.json Directory.Build.props Directory.Packages.props ./
COPY contracts/ contracts/
COPY hosting/ hosting/
COPY services/${SERVICE}/ services/${SERVICE}/
RUN test -n "$SERVICE" || { echo "build argument SERVICE is required (e.g. AlarmEvaluator)" >&2; exit 1; }; \
    dotnet publish "services/$SERVICE/$SERVICE.csproj" -c Release -o /app -p:UseAppHost=false

FROM mcr.microsoft.com/dotnet/aspnet:10.0
ARG SERVICE
WORKDIR /app
COPY --from=build /app .
ENV PE_SERVICE_DLL=PowerEvents.${SERVICE}.dll \
    Urls=http://+:8080 \
    PE_PROBE_URL=http://127.0.0.1:8080/health/ready \
    DOTNET_gcServer=0
EXPOSE 8080
# The aspnet image's unprivileged user.
USER $APP_UID
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 CMD ["sh", "-c", "exec dotnet \"$PE_SERVICE_DLL\" probe"]
# exec: the service is PID 1 and gets docker's SIGTERM itself.
ENTRYPOINT ["sh", "-c", "exec dotnet \"$PE_SERVICE_DLL\" \"$@\"", "--"]
