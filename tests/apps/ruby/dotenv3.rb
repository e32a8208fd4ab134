# bkeepers/dotenv lib/dotenv/parser.rb @v3.2.0 (LINE, call, parse_value, expand_newlines in its
# default mode), applied over Debian's dotenv 2.x gem so both major versions run on this machine.
require "English"
require "dotenv"
module Dotenv
  class Parser
    remove_const(:LINE)
    LINE = /
      (?:^|\A)\s*(?<export>export\s+)?(?<key>[\w.]+)
      (?:(?:\s*=\s*?|:\s+?)(?<value>\s*'(?:\\'|[^'])*'|\s*"(?:\\"|[^"])*"|[^\#\n]+)?)?
      \s*(?:\#.*)?(?:$|\z)
    /x
    def call
      @string.gsub(/\r\n?/, "\n").scan(LINE) do
        match = $LAST_MATCH_INFO
        @hash[match[:key]] = parse_value(match[:value] || "") unless match[:export] && !match[:value]
      end
      @hash
    end
    def parse_value(value)
      value = value.strip.sub(/\A(['"])(.*)\1\z/m, '\2')
      maybe_quote = Regexp.last_match(1)
      value = value.gsub('\n', "\\\\\\n").gsub('\r', "\\\\\\r") if maybe_quote == '"'
      if maybe_quote != "'"
        value = value.gsub(/\\([^$])/, '\1')
        self.class.substitutions.each { |proc| value = proc.call(value, @hash, false) }
      end
      value
    end
  end
end
