// Precompiled header of the test groups (it speeds the build; each test still includes what it
// uses).
#pragma once
#include <boost/asio.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
