from appliance_cli.cli.main import run

run()
