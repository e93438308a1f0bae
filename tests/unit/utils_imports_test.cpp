// Tests of mode/utils/imports.hpp: FactoryMapping lookups, aliases, URLs and unknown names.
#include <mode/utils/imports.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using mode::FactoryMapping;
using ::testing::HasSubstr;

struct Driver {
  virtual ~Driver() = default;
  virtual std::string name() const = 0;
};
struct Kafka : Driver {
  std::string name() const override { return "kafka"; }
};
struct Redis : Driver {
  std::string name() const override { return "redis"; }
};

using DriverFactory = std::function<std::unique_ptr<Driver>()>;

FactoryMapping<DriverFactory> drivers() {
  return {{"kafka", [] { return std::make_unique<Kafka>(); }},
          {"redis", [] { return std::make_unique<Redis>(); }}};
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "no error";
}

TEST(FactoryMapping, ByNameGivesTheRegisteredFactory) {
  const auto d = drivers();
  EXPECT_EQ(d.by_name("kafka")()->name(), "kafka");
  EXPECT_EQ(d.by_name("redis")()->name(), "redis");
}

TEST(FactoryMapping, ByUrlUsesTheScheme) {
  const auto d = drivers();
  EXPECT_EQ(d.by_url("kafka://localhost")()->name(), "kafka");
  EXPECT_EQ(d.by_url("redis://localhost:6379/0")()->name(), "redis");
  EXPECT_EQ(d.by_url("KAFKA://host")()->name(), "kafka");
}

TEST(FactoryMapping, ByUrlWithoutSchemeThrows) {
  const auto d = drivers();
  EXPECT_THAT(error_of([&] { d.by_url("localhost"); }), HasSubstr("no scheme: 'localhost'"));
  EXPECT_THAT(error_of([&] { d.by_url("://localhost"); }), HasSubstr("no scheme"));
  EXPECT_THAT(error_of([&] { d.by_url("kafak://localhost"); }),
              HasSubstr("unknown name 'kafak'! Did you mean kafka?"));
}

TEST(FactoryMapping, UnknownNameSuggestsAlternatives) {
  FactoryMapping<int> m{{"foo", 1}, {"moo", 2}, {"bar", 3}};
  EXPECT_EQ(error_of([&] { m.by_name("boo"); }),
            "FactoryMapping: unknown name 'boo'! Did you mean one of foo, moo?");
  EXPECT_EQ(error_of([&] { m.by_name("fo"); }),
            "FactoryMapping: unknown name 'fo'! Did you mean foo?");
  EXPECT_EQ(error_of([&] { m.by_name("zzzzzz"); }), "FactoryMapping: unknown name 'zzzzzz'");
}

TEST(FactoryMapping, AliasesResolveAndAreSuggested) {
  FactoryMapping<int> m{{"rabbitmq", 1}, {"kafka", 2}};
  m.add_alias("amqp", "rabbitmq");
  EXPECT_EQ(m.by_name("amqp"), 1);
  EXPECT_EQ(m.by_url("amqp://guest@localhost"), 1);
  EXPECT_TRUE(m.contains("amqp"));
  EXPECT_TRUE(m.contains("kafka"));
  EXPECT_FALSE(m.contains("redis"));
  EXPECT_EQ(m.aliases().at("amqp"), "rabbitmq");
  EXPECT_THAT(error_of([&] { m.by_name("amqq"); }), HasSubstr("Did you mean amqp?"));
}

TEST(FactoryMapping, IterateGivesEveryValueInRegistrationOrder) {
  FactoryMapping<int> m{{"c", 3}, {"a", 1}};
  m.add("b", 2);
  m.add_alias("z", "a");
  std::vector<int> values;
  for (const int& v : m.iterate()) values.push_back(v);
  EXPECT_EQ(values, (std::vector<int>{3, 1, 2}));
  EXPECT_EQ(m.names(), (std::vector<std::string>{"c", "a", "b"}));
  EXPECT_EQ(m.size(), 3U);
}

TEST(FactoryMapping, AddingANameAgainReplacesItsValue) {
  FactoryMapping<int> m{{"a", 1}, {"b", 2}};
  m.add("a", 10);
  EXPECT_EQ(m.by_name("a"), 10);
  EXPECT_EQ(m.names(), (std::vector<std::string>{"a", "b"}));
}

TEST(FactoryMapping, BadRegistrationsThrow) {
  FactoryMapping<int> m{{"kafka", 1}};
  m.add_alias("k", "kafka");
  EXPECT_THAT(error_of([&] { m.add("", 1); }), HasSubstr("empty name"));
  EXPECT_THAT(error_of([&] { m.add("k", 1); }), HasSubstr("'k' is already an alias"));
  EXPECT_THAT(error_of([&] { m.add_alias("", "kafka"); }), HasSubstr("empty alias"));
  EXPECT_THAT(error_of([&] { m.add_alias("kafka", "kafka"); }),
              HasSubstr("alias 'kafka' is a registered name"));
  EXPECT_THAT(error_of([&] { m.add_alias("x", "kafak"); }),
              HasSubstr("unknown name 'kafak'! Did you mean kafka?"));
  EXPECT_THAT(error_of([&] { m.add_alias("x", "k"); }), HasSubstr("unknown name 'k'"));
}

TEST(FactoryMapping, EmptyMappingHasNoSuggestion) {
  const FactoryMapping<int> m;
  EXPECT_EQ(error_of([&] { m.by_name("x"); }), "FactoryMapping: unknown name 'x'");
  EXPECT_TRUE(m.iterate().empty());
}

}  // namespace
