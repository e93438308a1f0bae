// Tests of mode/utils/objects.hpp: qualname, shortname, namespace_of, exception_repr,
// ExceptionRepr and holds_exception_of.
#include <mode/utils/objects.hpp>

#include <gtest/gtest.h>

#include <exception>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <typeinfo>

struct ObjectsTestTopLevel {};

namespace objects_test {
struct Foo {};
template <class T>
struct Box {};
template <class A, class B>
struct Pair {};
struct Outer {
  struct Inner {};
};
struct Custom {};
struct CustomError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct Mixin {  // polymorphic: it comes first in Multiple, and the std::exception after it
  virtual ~Mixin() = default;
  int tag = 7;
};
struct Multiple : Mixin, CustomError {
  Multiple() : CustomError("both") {}
};
// Counts what() calls: each one means the exception was rethrown to read it.
struct CountsReads : std::exception {
  explicit CountsReads(int* reads) : reads_(reads) {}
  const char* what() const noexcept override {
    ++*reads_;
    return "counted";
  }
  int* reads_;
};
enum class Colour { red };
namespace deep::er {
struct Bar {};
}  // namespace deep::er
}  // namespace objects_test

namespace objects_test2 {
struct Bar {};
}  // namespace objects_test2

namespace {

using mode::exception_repr;
using mode::ExceptionRepr;
using mode::holds_exception_of;
using mode::namespace_of;
using mode::qualname;
using mode::shortname;

struct Hidden {};

template <class T>
std::string ns_of() {
  return namespace_of(typeid(T));
}

TEST(Objects, QualnameIsTheDemangledQualifiedName) {
  EXPECT_EQ(qualname<objects_test::Foo>(), "objects_test::Foo");
  EXPECT_EQ(qualname(typeid(objects_test::Foo)), "objects_test::Foo");
  EXPECT_EQ(qualname<objects_test::deep::er::Bar>(), "objects_test::deep::er::Bar");
  EXPECT_EQ(qualname<objects_test::Box<objects_test2::Bar>>(),
            "objects_test::Box<objects_test2::Bar>");
  EXPECT_EQ(qualname<ObjectsTestTopLevel>(), "ObjectsTestTopLevel");
  EXPECT_EQ(qualname<int>(), "int");
  EXPECT_EQ(qualname<objects_test::Colour>(), "objects_test::Colour");
}

TEST(Objects, ShortnameDropsTheNamespacesAndKeepsTemplateArguments) {
  EXPECT_EQ(shortname<objects_test::Foo>(), "Foo");
  EXPECT_EQ(shortname<objects_test::deep::er::Bar>(), "Bar");
  EXPECT_EQ(shortname<objects_test::Box<objects_test2::Bar>>(), "Box<objects_test2::Bar>");
  EXPECT_EQ(shortname(typeid(objects_test::Box<objects_test2::Bar>)), "Box<objects_test2::Bar>");
  // The demangler writes "> >" between closing template brackets.
  EXPECT_EQ(
      (shortname<objects_test::Pair<objects_test2::Bar, objects_test::Box<objects_test::Foo>>>()),
      "Pair<objects_test2::Bar, objects_test::Box<objects_test::Foo> >");
  EXPECT_EQ(shortname<objects_test::Outer::Inner>(), "Inner");
  EXPECT_EQ(shortname<ObjectsTestTopLevel>(), "ObjectsTestTopLevel");
  EXPECT_EQ(shortname<Hidden>(), "Hidden");
  EXPECT_EQ(shortname<int>(), "int");
}

TEST(Objects, ShortnameOfAStandardTemplate) {
  using Map = std::map<objects_test::Foo, objects_test2::Bar>;
  const std::string name = shortname<Map>();
  EXPECT_EQ(name.rfind("map<objects_test::Foo, objects_test2::Bar", 0), 0u) << name;
}

TEST(Objects, NamespaceOfIsWhatShortnameDrops) {
  EXPECT_EQ(ns_of<objects_test::Foo>(), "objects_test");
  EXPECT_EQ(ns_of<objects_test::deep::er::Bar>(), "objects_test::deep::er");
  EXPECT_EQ(ns_of<objects_test::Box<objects_test2::Bar>>(), "objects_test");
  EXPECT_EQ((ns_of<objects_test::Pair<objects_test2::Bar, objects_test::Box<objects_test::Foo>>>()),
            "objects_test");
  EXPECT_EQ(ns_of<objects_test::Outer::Inner>(), "objects_test::Outer");
  EXPECT_EQ(ns_of<ObjectsTestTopLevel>(), "");
  EXPECT_EQ(ns_of<int>(), "");
  EXPECT_EQ(ns_of<Hidden>(), "(anonymous namespace)");
  EXPECT_EQ(ns_of<objects_test::deep::er::Bar>() + "::" + shortname<objects_test::deep::er::Bar>(),
            qualname<objects_test::deep::er::Bar>());
}

TEST(Objects, ExceptionReprOfAStdException) {
  EXPECT_EQ(exception_repr(std::make_exception_ptr(std::runtime_error("x"))),
            "std::runtime_error('x')");
  EXPECT_EQ(exception_repr(std::make_exception_ptr(std::invalid_argument("bad value"))),
            "std::invalid_argument('bad value')");
  EXPECT_EQ(exception_repr(std::make_exception_ptr(objects_test::CustomError("boom"))),
            "objects_test::CustomError('boom')");
  EXPECT_EQ(exception_repr(std::make_exception_ptr(std::runtime_error(""))),
            "std::runtime_error('')");
  // A std::exception that is not the first base: its address differs from the object's.
  EXPECT_EQ(exception_repr(std::make_exception_ptr(objects_test::Multiple())),
            "objects_test::Multiple('both')");
}

TEST(Objects, ExceptionReprOfANonStdException) {
  EXPECT_EQ(exception_repr(std::make_exception_ptr(objects_test::Custom{})),
            "objects_test::Custom()");
  EXPECT_EQ(exception_repr(std::make_exception_ptr(objects_test::Colour::red)),
            "objects_test::Colour()");  // an enum's value would need its names: type only
}

// `throw 42` or `throw "boom"`: the value is what says what went wrong, so it is shown.
TEST(Objects, ExceptionReprOfAThrownIntegralOrStringShowsTheValue) {
  EXPECT_EQ(exception_repr(std::make_exception_ptr(42)), "int(42)");
  EXPECT_EQ(exception_repr(std::make_exception_ptr(-7L)), "long(-7)");
  EXPECT_EQ(exception_repr(std::make_exception_ptr(7UL)), "unsigned long(7)");
  EXPECT_EQ(exception_repr(std::make_exception_ptr(short{3})), "short(3)");
  EXPECT_EQ(exception_repr(std::make_exception_ptr(true)), "bool(true)");
  EXPECT_EQ(exception_repr(std::make_exception_ptr('x')), "char('x')");
  EXPECT_EQ(exception_repr(std::make_exception_ptr(static_cast<unsigned char>(200))),
            "unsigned char(200)");
  EXPECT_EQ(exception_repr(std::make_exception_ptr(1.5)), "double(1.5)");
  EXPECT_EQ(exception_repr(std::make_exception_ptr("boom")), "const char*('boom')");
  char buffer[] = "mutable";
  EXPECT_EQ(exception_repr(std::make_exception_ptr(static_cast<char*>(buffer))),
            "char*('mutable')");
  EXPECT_EQ(exception_repr(std::make_exception_ptr(static_cast<const char*>(nullptr))),
            "const char*(nullptr)");
  EXPECT_EQ(exception_repr(std::make_exception_ptr(std::string("boom"))), "std::string('boom')");
  EXPECT_EQ(exception_repr(std::make_exception_ptr(std::string_view("view"))),
            "std::string_view('view')");
  EXPECT_EQ(fmt::format("{}", ExceptionRepr{std::make_exception_ptr(42)}), "int(42)");
}

TEST(Objects, ExceptionReprOfAValueThrownByAThrowExpression) {
  // What a catch (...) sees, as a crash reason does: the same text as make_exception_ptr's.
  std::exception_ptr caught;
  try {
    throw 42;
  } catch (...) {
    caught = std::current_exception();
  }
  EXPECT_EQ(exception_repr(caught), "int(42)");
  try {
    throw "boom";
  } catch (...) {
    caught = std::current_exception();
  }
  EXPECT_EQ(exception_repr(caught), "const char*('boom')");
}

TEST(Objects, ExceptionReprFormatsOnlyWhenFormatted) {
  int reads = 0;
  const ExceptionRepr repr{std::make_exception_ptr(objects_test::CountsReads(&reads))};
  const ExceptionRepr copy = repr;  // passing it around reads nothing
  EXPECT_EQ(reads, 0);
  EXPECT_EQ(fmt::format("reason={}", copy), "reason=objects_test::CountsReads('counted')");
  EXPECT_EQ(reads, 1);
  EXPECT_EQ(fmt::format("{}", ExceptionRepr{}), "none");
}

TEST(Objects, HoldsExceptionOfReadsTheTypeAndItsBases) {
  const auto custom = std::make_exception_ptr(objects_test::CustomError("x"));
  EXPECT_TRUE(holds_exception_of(custom, typeid(objects_test::CustomError)));
  EXPECT_TRUE(holds_exception_of(custom, typeid(std::runtime_error)));
  EXPECT_TRUE(holds_exception_of(custom, typeid(std::exception)));
  EXPECT_FALSE(holds_exception_of(custom, typeid(std::logic_error)));
  const auto multiple = std::make_exception_ptr(objects_test::Multiple());
  EXPECT_TRUE(holds_exception_of(multiple, typeid(objects_test::Mixin)));
  EXPECT_TRUE(holds_exception_of(multiple, typeid(std::runtime_error)));
  EXPECT_FALSE(holds_exception_of(multiple, typeid(std::invalid_argument)));
  EXPECT_FALSE(holds_exception_of(std::make_exception_ptr(42), typeid(std::exception)));
  EXPECT_TRUE(holds_exception_of(std::make_exception_ptr(42), typeid(int)));
  EXPECT_FALSE(holds_exception_of(nullptr, typeid(std::exception)));
}

TEST(Objects, ExceptionReprOfNullIsNone) {
  EXPECT_EQ(exception_repr(nullptr), "none");
  EXPECT_EQ(exception_repr(std::exception_ptr{}), "none");
  static_assert(noexcept(exception_repr(std::exception_ptr{})));
}

}  // namespace
