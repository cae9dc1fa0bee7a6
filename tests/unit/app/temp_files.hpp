// Files the app tests read (configurations, documents), written under gtest's temp folder.
#pragma once

#include <fstream>
#include <string>

#include <gtest/gtest.h>

namespace swmld::app::testing_files {

// Writes `text` to TempDir()/name and returns the path.
inline std::string write(const std::string& name, const std::string& text) {
  std::string path = testing::TempDir() + name;
  std::ofstream(path) << text;
  return path;
}

}  // namespace swmld::app::testing_files
