// context.clock from `chronyc -n tracking`: the offset with its sign, chrony's error bound,
// and a null offset with the reason when chrony is missing, not running or not synchronised.
#include <gtest/gtest.h>

#include "loadgen/results.hpp"

namespace {

const char* const tracking_fast =
    "Reference ID    : A9FEA97B (169.254.169.123)\n"
    "Stratum         : 4\n"
    "Ref time (UTC)  : Tue Dec 01 08:00:00 2026\n"
    "System time     : 0.000012500 seconds fast of NTP time\n"
    "Last offset     : +0.000001234 seconds\n"
    "RMS offset      : 0.000004567 seconds\n"
    "Frequency       : 3.141 ppm slow\n"
    "Residual freq   : +0.001 ppm\n"
    "Skew            : 0.020 ppm\n"
    "Root delay      : 0.000400000 seconds\n"
    "Root dispersion : 0.000100000 seconds\n"
    "Update interval : 16.0 seconds\n"
    "Leap status     : Normal\n";

TEST(Clock, OffsetOfAClockAheadIsPositive) {
    nlohmann::json c = loadgen::clock_from_chronyc(loadgen::command_output{0, tracking_fast});
    EXPECT_DOUBLE_EQ(c.at("offset_s").get<double>(), 12.5e-6);
    EXPECT_DOUBLE_EQ(c.at("max_error_s").get<double>(), 0.0001 + 0.0004 / 2);
    EXPECT_EQ(c.at("leap_status"), "Normal");
    EXPECT_TRUE(c.at("reason").is_null());
    EXPECT_EQ(c.at("source"), "chronyc tracking");
}

TEST(Clock, OffsetOfAClockBehindIsNegative) {
    std::string text = tracking_fast;
    text.replace(text.find("fast"), 4, "slow");
    nlohmann::json c = loadgen::clock_from_chronyc(loadgen::command_output{0, text});
    EXPECT_DOUBLE_EQ(c.at("offset_s").get<double>(), -12.5e-6);
}

TEST(Clock, WithoutChronycTheOffsetIsNullAndSaysWhy) {
    for (const auto& missing :
         {std::optional<loadgen::command_output>{},
          std::optional<loadgen::command_output>{{127, "sh: 1: chronyc: not found\n"}}}) {
        nlohmann::json c = loadgen::clock_from_chronyc(missing);
        EXPECT_TRUE(c.at("offset_s").is_null());
        EXPECT_NE(c.at("reason").get<std::string>().find("chronyc not found"), std::string::npos);
    }
}

TEST(Clock, WithoutItsDaemonTheOffsetIsNullAndSaysWhy) {
    nlohmann::json c = loadgen::clock_from_chronyc(loadgen::command_output{1, "506 Cannot talk to daemon\n"});
    EXPECT_TRUE(c.at("offset_s").is_null());
    EXPECT_NE(c.at("reason").get<std::string>().find("506 Cannot talk to daemon"), std::string::npos);
}

TEST(Clock, UnsynchronisedChronyGivesNoOffset) {
    std::string text = tracking_fast;
    text.replace(text.find("Normal"), 6, "Not synchronised");
    nlohmann::json c = loadgen::clock_from_chronyc(loadgen::command_output{0, text});
    EXPECT_TRUE(c.at("offset_s").is_null());
    EXPECT_NE(c.at("reason").get<std::string>().find("not synchronised"), std::string::npos);
}

}  // namespace
