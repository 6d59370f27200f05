// Every environment variable minidl reads, in one table (core/env.cpp), read through one function.
// docs/architecture.md lists them too; a test keeps the two in step and checks that no other file
// calls getenv.
#pragma once
#include <vector>

namespace minidl {

struct EnvVar {
  const char* name;    // "MINIDL_CPU_CACHE"
  const char* values;  // what it accepts
  const char* effect;  // what it changes, and where
};
const std::vector<EnvVar>& env_vars();

// The value of a variable of the table, or nullptr when it is unset or empty. A name missing
// from the table is a programming error (minidl::Error): a new variable gets a row first.
const char* env_value(const char* name);

}  // namespace minidl
