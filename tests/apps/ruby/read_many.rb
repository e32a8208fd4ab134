# Reads many exports at once, as the app would: {"kind": ..., "items": [...]} on stdin, a JSON
# list of results on stdout ({"error": ...} where the reader or the app refused one).
#   dotenv2 / dotenv3: .env texts -> key/value hashes (Debian's gem; 3.x rules from dotenv3.rb)
#   app:<mastodon|discourse|gitlab|forem>: requests as for deliver.rb -> the settings the app builds
require_relative "apps"
require "dotenv"
require_relative "dotenv3" if JSON.parse(STDIN.read.tap { |t| $input = t })["kind"] == "dotenv3"

request = JSON.parse($input)
kind = request["kind"]
results = request["items"].map do |item|
  if kind.start_with?("dotenv")
    Dotenv::Parser.call(item)
  else
    settings, from, reply_to = app_settings(kind.delete_prefix("app:"), item)
    { "user_name" => settings[:user_name], "password" => settings[:password], "from" => from, "reply_to" => reply_to }
  end
rescue StandardError, ScriptError => e
  { "error" => "#{e.class}: #{e.message.lines.first.to_s.strip}" }
end
puts JSON.generate(results)
