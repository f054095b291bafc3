// rtc-node writes its own debug log lines to stdout unless NODE_ENV is "production", in a format
// that is not ours; ops tail one JSON format. Imported first by the CLI, before rtc-node loads.
process.env.NODE_ENV ??= 'production';
export {};
